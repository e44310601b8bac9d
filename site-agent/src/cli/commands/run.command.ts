/** `site-agent run`: parses flags into a RunContext; the work is in agent/run-loop.ts and work/. */
import { InvalidArgumentError, type Command } from 'commander';
import type { AgentConfig } from '../../config/agent-config';
import { siteClient } from '../../agent/connection';
import { createLog } from '../../agent/log';
import { COORDINATOR_FAULT_ADVICE } from '../../federation/retry';
import type * as grpc from '@grpc/grpc-js';
import { growHeapForTransfers, mallocTuningWarning } from '@fedciss/proto';
import { runAgent, type SiteWork } from '../../agent/run-loop';
import { AgentMetrics } from '../../agent/metrics';
import { MlSiteWork } from '../../work/ml-site-work';
import { agentConfigFrom, withAgentOptions, type AgentFlags } from './agent-options';

export interface RunContext {
  config: AgentConfig;
  exitWhenDone: boolean;
  untilStep?: number;
  logFormat: 'json' | 'text';
  /** Serve Prometheus metrics on this local address (off when absent). */
  metrics?: { host: string; port: number };
}

export type RunAction = (ctx: RunContext) => Promise<void>;

/** What a wrapper may put around the agent's parts (the e2e fault injection does: production passes none). */
export interface RunSeams {
  /** Wraps the learning work (e.g. to poison an update). */
  readonly work?: (work: SiteWork) => SiteWork;
  /** gRPC interceptors on the connection to the coordinator (e.g. to corrupt a chunk in transit). */
  readonly interceptors?: grpc.Interceptor[];
}

export const runRun = async (ctx: RunContext, seams: RunSeams = {}): Promise<void> => {
  growHeapForTransfers();
  const log = createLog(ctx.logFormat, ctx.config.siteName);
  const { client, siteId } = siteClient(ctx.config, {
    onRetry: (attempt, delayMs, e) => log('warn', 'call failed; retrying', { attempt, delayMs, error: (e as { details?: string }).details ?? (e as Error).message }),
    onCoordinatorFault: (attempt, delayMs, e) =>
      log('error', 'coordinator fault; retrying later', { attempt, delayMs, error: (e as { details?: string }).details ?? (e as Error).message, whatToDo: COORDINATOR_FAULT_ADVICE }),
  }, seams.interceptors);
  const stop = new AbortController();
  const onSignal = (signal: string) => {
    log('info', 'stopping', { signal });
    stop.abort();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  log('info', 'agent started', { coordinator: ctx.config.coordinator, data: ctx.config.dataRoot, executionProvider: ctx.config.executionProvider, trainingExecutionProvider: ctx.config.trainingExecutionProvider });
  const allocator = mallocTuningWarning();
  if (allocator) log('warn', 'allocator settings missing', { advice: allocator });
  const metrics = ctx.metrics ? new AgentMetrics() : undefined;
  const served = ctx.metrics ? await metrics!.serve(ctx.metrics.host, ctx.metrics.port) : undefined;
  if (served) log('info', 'metrics served', { url: served.url });
  try {
    const work = new MlSiteWork(ctx.config, log);
    await runAgent(ctx.config, client, siteId, seams.work ? seams.work(work) : work, log, { exitWhenDone: ctx.exitWhenDone, untilStep: ctx.untilStep, signal: stop.signal, metrics });
  } finally {
    client.close();
    await served?.close();
  }
};

function portFlag(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new InvalidArgumentError(`the metrics port must be 0..65535, got '${v}'`);
  return Number(v);
}

export function register(program: Command, action: RunAction = (ctx) => runRun(ctx)): void {
  withAgentOptions(
    program
      .command('run')
      .description(
        'Take part in the federation: follow the coordinator\'s tasks (train the segmenter on this hospital\'s images with ' +
          'diffusion replay, train the generator, evaluate on local test patients), upload weights, report metrics. ' +
          'Runs until stopped (SIGTERM/SIGINT), or until the federation is done with --exit-when-done.',
      ),
  )
    .option('--exit-when-done', 'leave when every step the coordinator opened is complete', false)
    .option('--until-step <n>', 'leave once this step is complete', (v) => {
      if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--until-step must be a step number, got '${v}'`);
      return Number(v);
    })
    .option('--log-format <format>', 'text or json (env FEDCISS_LOG_FORMAT)', (v) => {
      if (v !== 'text' && v !== 'json') throw new InvalidArgumentError(`--log-format must be text or json, got '${v}'`);
      return v;
    })
    .option('--metrics-port <port>', 'serve Prometheus metrics on this port (env FEDCISS_SITE_METRICS_PORT; default: off)', portFlag)
    .option('--metrics-host <host>', 'address for the metrics port (env FEDCISS_SITE_METRICS_HOST; default 127.0.0.1: this machine only)')
    .action(async (o: AgentFlags & { exitWhenDone: boolean; untilStep?: number; logFormat?: 'json' | 'text'; metricsPort?: number; metricsHost?: string }) => {
      const env = process.env;
      // JSON for log collectors (anything that is not a terminal), readable text at a terminal.
      const logFormat = o.logFormat ?? (env.FEDCISS_LOG_FORMAT === 'json' || env.FEDCISS_LOG_FORMAT === 'text' ? env.FEDCISS_LOG_FORMAT : process.stderr.isTTY ? 'text' : 'json');
      const port = o.metricsPort ?? (env.FEDCISS_SITE_METRICS_PORT ? portFlag(env.FEDCISS_SITE_METRICS_PORT) : undefined);
      const metrics = port === undefined ? undefined : { host: o.metricsHost ?? env.FEDCISS_SITE_METRICS_HOST ?? '127.0.0.1', port };
      await action({ config: agentConfigFrom(o), exitWhenDone: o.exitWhenDone, untilStep: o.untilStep, logFormat, metrics });
    });
}
