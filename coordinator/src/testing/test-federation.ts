import { AdminAuthService } from '../auth/admin-auth.service';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import { signIn } from './rest-client';
import { TestSiteClient } from './site-client';
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
