import { AdminAuthService } from '../auth/admin-auth.service';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import assert from 'node:assert/strict';
import { TaskKind, type Task } from '@fedciss/proto';
import { signIn, type RestCall } from './rest-client';
import { TestSiteClient } from './site-client';
import { until } from './until';
import { TensorModelFactory } from './tensor-model-factory';

export const TEST_ADMIN_PASSWORD = 'correct horse battery staple';

export interface TestFederation {
  coordinator: RunningCoordinator;
  /** An admin's session token for the REST API. */
  token: string;
  /** Enrolled in order, each after one heartbeat. */
  sites: TestSiteClient[];
}

/**
 * A coordinator on the tensor test model with an admin signed in and the named in-test gRPC sites
 * enrolled: the set-up of the integration tests that drive rounds by hand.
 */
export async function startTestFederation(config: CoordinatorConfig, siteNames: readonly string[]): Promise<TestFederation> {
  const coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: ['error'] });
  await coordinator.app.get(AdminAuthService).createUser('test', 'admin', TEST_ADMIN_PASSWORD, 'admin');
  const token = await signIn(coordinator.httpUrl, 'admin', TEST_ADMIN_PASSWORD);
  const sites: TestSiteClient[] = [];
  for (const name of siteNames) {
    const site = new TestSiteClient(`127.0.0.1:${coordinator.grpcPort}`);
    await site.enroll(name);
    await site.heartbeat();
    sites.push(site);
  }
  return { coordinator, token, sites };
}

/** Adds `classes` to the roster (opening a step) and waits (each site up to `timeoutMs`) for each site's task of its first segmenter round, in the sites' order. */
export async function openStepTasks(api: RestCall, sites: readonly TestSiteClient[], classes: readonly string[], timeoutMs?: number): Promise<Task[]> {
  const opened = await api('POST', '/api/roster/classes', { classes: classes.map((name) => ({ name })) });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const tasks: Task[] = [];
  for (const site of sites) {
    tasks.push(await until('a training task', async () => {
      const t = await site.getTask();
      return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t;
    }, timeoutMs));
  }
  return tasks;
}
