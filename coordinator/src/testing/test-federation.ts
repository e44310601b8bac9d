import { AdminAuthService } from '../auth/admin-auth.service';
import { resolveConfig, type CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { LogLevel } from '@nestjs/common';
import { TaskKind, type Task } from '@fedciss/proto';
import { restClient, signIn, type RestCall } from './rest-client';
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
async function startTestFederation(config: CoordinatorConfig, siteNames: readonly string[], logLevels: readonly LogLevel[] = ['error']): Promise<TestFederation> {
  const coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: [...logLevels] });
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

/** What a describe block's test federation is made of. */
export interface TestFederationOptions {
  /** Prefix of its data folder's name in the system's temporary folder. */
  readonly name: string;
  /** Coordinator flags over the in-test ones (insecure, auto-approved enrolment, free ports, a 100 ms tick), e.g. quorum, segmenterRounds, deadline. */
  readonly flags: Readonly<Record<string, string>>;
  /** Training settings laid over the resolved ones, key by key. */
  readonly training?: Partial<CoordinatorConfig['training']>;
  readonly siteNames: readonly string[];
  /** What the coordinator logs; default errors only. */
  readonly logLevels?: readonly LogLevel[];
}

/** A describe block's test federation: startTestFederation's parts, its configuration (the object the
 * coordinator runs on), its data folder and a REST client signed in as the admin. */
export interface LiveTestFederation extends TestFederation {
  config: CoordinatorConfig;
  readonly sites: TestSiteClient[];
  readonly dataDir: string;
  readonly api: RestCall;
}

/**
 * Registers, in the calling describe block, the hooks of a test federation: `before` starts it in a
 * fresh data folder (startTestFederation), `after` closes its sites and coordinator and removes the
 * folder. `sites` (filled in place) and `api` may be taken from the returned object at once; its
 * coordinator, token and config are there once `before` has run.
 */
export function useTestFederation(options: TestFederationOptions): LiveTestFederation {
  const dataDir = mkdtempSync(join(tmpdir(), `${options.name}-`));
  const federation = { dataDir, token: '', sites: [] as TestSiteClient[] } as LiveTestFederation;
  Object.assign(federation, { api: restClient(() => federation.coordinator.httpUrl, () => federation.token) });
  before(async () => {
    const config = resolveConfig({
      env: {},
      flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', tickMs: '100', ...options.flags },
    });
    config.training = { ...config.training, ...options.training };
    const { coordinator, token, sites } = await startTestFederation(config, options.siteNames, options.logLevels);
    Object.assign(federation, { config, coordinator, token });
    federation.sites.push(...sites);
  });
  after(async () => {
    for (const site of federation.sites) site.close();
    await federation.coordinator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return federation;
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
