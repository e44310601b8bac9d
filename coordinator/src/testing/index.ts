/** Test helpers of the coordinator (`@fedciss/coordinator/testing`): never imported by production
 * code (the package's main entry does not reach them). */
export { freePort } from './ports';
export { startPostgresServer, type PostgresServer } from './postgres-server';
export { restClient, signIn, type RestCall, type RestResponse } from './rest-client';
export { SecureTestSite, shiftedModel } from './secure-site';
export { TestSiteClient } from './site-client';
export { TensorModelFactory, TENSOR_MODEL_WIDTH } from './tensor-model-factory';
export { until } from './until';
export { openStepTasks, TEST_ADMIN_PASSWORD, useTestFederation, type LiveTestFederation, type TestFederation, type TestFederationOptions } from './test-federation';
