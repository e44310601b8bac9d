/** The coordinator's public API: start one in-process (what the CLI's `serve` does), with its
 * configuration, model factory and the services a caller reaches through `app.get`. Test helpers
 * (in-test sites, REST client, PostgreSQL server) are `@fedciss/coordinator/testing`. */
export { startCoordinator, type RunningCoordinator } from './main';
export { CoordinatorModule, type CoordinatorDeps } from './app.module';
export { ConsoleModule } from './http/console.module';
export { resolveConfig, parseTrainingSettings, ConfigError, DEFAULT_TRAINING, type CoordinatorConfig, type ConfigSources, type TrainingSettings } from './config/coordinator-config';
export { AdminAuthService } from './auth/admin-auth.service';
export type { ModelFactory } from './models/model-factory';
export { MlModelFactory } from './models/ml-model-factory';
export { CA_CERT_FILE, initCertificateAuthority, issueServerCertificate } from './pki';
export { SitesService } from './sites/sites.service';
export { DatabaseService } from './database/database.service';
/** The federated report's replay part (GET /api/reports/replay): bench:ciss reads it. */
export type { ReplayStepReport, ReplaySiteCheck } from './reports/replay-report.service';
/** The federation's one-at-a-time queue: its load() (tasks, running task's start) for a stall diagnosis. */
export { SerialQueue } from './common/serial-queue';
/** Models and updates of any size on files (the model store, safetensors by slices) and aggregation by slices. */
export { LocalBlobStore } from './model-store/local-blob-store';
export { SafetensorsFileReader, SafetensorsFileWriter } from './model-store/safetensors-file';
export { aggregateBySlices, resolveAggregationOptions, type SlicedUpdate } from './aggregation';
/** The privacy accountant (RDP of the sampled Gaussian mechanism): ε of releases, σ for a target ε (bench:ciss --dp-epsilon). */
export { epsilonOfReleases, noiseMultiplierFor, type Release } from './privacy/rdp';
