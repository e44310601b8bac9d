/** The site agent's public API: the CLI (and the `run` action with its seams for wrappers), the
 * agent's settings, its identity, and the data readers and synthetic-scene generator. */
export { buildProgram, main } from './cli/main';
export type { CommandActions } from './cli/commands';
export { runRun, type RunAction, type RunContext, type RunSeams } from './cli/commands/run.command';
export { runAgent, type SiteWork, type TrainedUpdate, type WithheldUpdate, type ModelFetcher, type RunOptions } from './agent/run-loop';
export { localTrainHyperOf, segmenterArchitectureOf, TaskContractError } from './work/task-contract';
export { loadAgentConfig, agentSettingsSchema, AgentConfigError, type AgentConfig } from './config/agent-config';
export * from './identity';
export * from './data';
export * from './synthetic';
export { CoordinatorClient, type Connection, type UploadSource, type UploadTuning } from './federation/coordinator-client';
export { OutboundAudit } from './federation/outbound-audit';
