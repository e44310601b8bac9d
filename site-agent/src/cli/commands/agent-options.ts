/**
 * The connection and storage flags every agent command shares (each also settable in the config
 * file or through FEDCISS_SITE_* variables), and turning them into an AgentConfig.
 */
import type { Command } from 'commander';
import { loadAgentConfig, type AgentConfig } from '../../config/agent-config';

export interface AgentFlags {
  config?: string;
  siteName?: string;
  coordinator?: string;
  enrollAddress?: string;
  insecure?: boolean;
  identityDir?: string;
  data?: string;
  workDir?: string;
  executionProvider?: string;
  trainingExecutionProvider?: string;
}

export function withAgentOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON settings file (keys: siteName, coordinator, enrollAddress, identityDir, dataRoot, workDir, executionProvider, trainingExecutionProvider, stepSurgeries, testSurgeries, ...)')
    .option('--site-name <name>', 'this hospital\'s name as the coordinator\'s admins see it (FEDCISS_SITE_NAME)')
    .option('--coordinator <host:port>', 'the coordinator\'s federation endpoint (FEDCISS_COORDINATOR; default 127.0.0.1:50051)')
    .option('--enroll-address <host:port>', 'the coordinator\'s enrolment endpoint (default: coordinator port + 1)')
    .option('--insecure', 'plaintext gRPC to a coordinator on this machine (demo only; the coordinator must allow it)')
    .option('--identity-dir <dir>', 'where this site\'s private key and certificate live (default ./identity)')
    .option('--data <dir>', 'this hospital\'s images, DSAD layout or a folder with a manifest (FEDCISS_SITE_DATA)')
    .option('--work-dir <dir>', 'caches, models, replay sets, logs and the outbound audit (default ./work)')
    .option('--execution-provider <ep>', 'cpu, cuda or webgpu (falls back to cpu with a message when unavailable)')
    .option('--training-execution-provider <ep>', 'where training runs, if not where --execution-provider runs inference (FEDCISS_TRAINING_EXECUTION_PROVIDER)');
}

export function agentConfigFrom(flags: AgentFlags): AgentConfig {
  return loadAgentConfig({
    file: flags.config,
    flags: {
      siteName: flags.siteName,
      coordinator: flags.coordinator,
      enrollAddress: flags.enrollAddress,
      insecure: flags.insecure,
      identityDir: flags.identityDir,
      dataRoot: flags.data,
      workDir: flags.workDir,
      executionProvider: flags.executionProvider,
      trainingExecutionProvider: flags.trainingExecutionProvider,
    },
  });
}
