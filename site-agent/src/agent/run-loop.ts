/**
 * `site-agent run`: follows the coordinator's tasks until told the federation is done (or for ever,
 * as a service). Heartbeats run beside the work; every call is retried through coordinator
 * restarts and network cuts; a trained update is kept on disk until the coordinator has it, so an
 * agent restarted after training uploads it instead of training again.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskKind, UploadState, type EvaluationReport, type ReplayCheck, type SampleCounts, type Task } from '@fedciss/proto';
import type { AgentConfig } from '../config/agent-config';
import type { CoordinatorClient } from '../federation/coordinator-client';
import { sleep } from '../federation/retry';
import type { AgentLog } from './log';
import { progressOf, type ProgressSink } from './progress';
import type { AgentMetrics } from './metrics';
import { SecureRounds } from '../privacy/secure-rounds';

export const LAST_TASK_FILE = 'last-task.json';

export interface TrainedUpdate {
  blob: Buffer;
  samples: SampleCounts;
  metrics: Record<string, number>;
  /** Adaptive clipping: the noisy bit "the delta was within the task's clip bound" (privacy/dp-update.ts). */
  unclippedIndicator?: number;
  /** Segmenter updates that checked their replay set: whether it beat teacher-labelled noise. */
  replayCheck?: ReplayCheck;
}

/** A trained update that must not leave the site (the memorisation gate), and why. */
export interface WithheldUpdate {
  withheld: true;
  reason: string;
  metrics: Record<string, number>;
}

/** The learning work a task asks for; see work/ for the implementations on the ml library. */
export interface SiteWork {
  trainSegmenter(task: Task, models: ModelFetcher, progress: ProgressSink): Promise<TrainedUpdate>;
  trainGenerator(task: Task, models: ModelFetcher, progress: ProgressSink): Promise<TrainedUpdate | WithheldUpdate>;
  evaluate(task: Task, models: ModelFetcher, progress: ProgressSink): Promise<EvaluationReport>;
}

/** Model bytes by reference, from the local cache or the coordinator. */
export type ModelFetcher = (ref: Task['globalModel']) => Promise<Buffer>;

export interface RunOptions {
  /** Leave when the coordinator says every step is complete (default: keep waiting for new steps). */
  exitWhenDone: boolean;
  /** Leave after this step completed (demo and tests). */
  untilStep?: number;
  signal?: AbortSignal;
  /** Where the agent's Prometheus metrics are kept (run --metrics-port). */
  metrics?: AgentMetrics;
}

export async function runAgent(config: AgentConfig, client: CoordinatorClient, siteId: string, work: SiteWork, log: AgentLog, o: RunOptions): Promise<void> {
  const updatesDir = join(config.workDir, 'updates');
  const modelsDir = join(config.workDir, 'models');
  mkdirSync(updatesDir, { recursive: true });
  let state = 'starting';
  let heartbeatMs = config.heartbeatSeconds * 1000;
  // Heartbeats stop when the run ends, whether it finished, failed or was asked to stop.
  const stopBeats = new AbortController();
  o.signal?.addEventListener('abort', () => stopBeats.abort(), { once: true });
  const beat = async () => {
    while (!stopBeats.signal.aborted) {
      try {
        const r = await client.heartbeat(state);
        if (r.heartbeatIntervalMs > 0) heartbeatMs = Math.min(config.heartbeatSeconds * 1000, r.heartbeatIntervalMs);
      } catch (e) {
        log('warn', 'heartbeat failed', { error: (e as Error).message });
      }
      await sleep(heartbeatMs, stopBeats.signal);
    }
  };
  const heartbeats = beat();
  const sink: (roundId: string) => ProgressSink = (roundId) => (phase, fraction, metrics) => {
    o.metrics?.progress(phase, metrics);
    client.reportProgress({ roundId, phase, fraction, metrics, message: '' }).catch(() => undefined);
  };
  const fetchModel: ModelFetcher = async (ref) => {
    if (!ref) throw new Error('the task names no model to download');
    const p = progressOf('download', log);
    try {
      return await client.download(ref, modelsDir, (f) => p.update(f));
    } finally {
      p.done();
    }
  };
  const secure = new SecureRounds(siteId, client, log);
  let lastStepSeen = -1;
  try {
    while (!o.signal?.aborted) {
      // Held by the coordinator between rounds; given up at once when the agent is asked to stop.
      const task = await client.getTask(o.signal).catch((e) => {
        if (o.signal?.aborted) return undefined;
        throw e;
      });
      if (!task) break;
      if (task.kind === TaskKind.TASK_KIND_DONE) {
        state = 'idle';
        if (o.untilStep !== undefined && task.step >= o.untilStep && lastStepSeen >= o.untilStep) {
          log('info', 'step complete; leaving as asked', { step: task.step });
          return;
        }
        if (o.exitWhenDone && lastStepSeen >= 0) {
          log('info', 'federation idle; leaving', { message: task.message });
          return;
        }
        await sleep(task.retryAfterMs || 5000, o.signal);
        continue;
      }
      lastStepSeen = Math.max(lastStepSeen, task.step);
      o.metrics?.taskStep(task.step);
      if (task.kind === TaskKind.TASK_KIND_WAIT) {
        state = 'waiting';
        await sleep(task.retryAfterMs || 2000, o.signal);
        continue;
      }
      log('info', 'task', { kind: TaskKind[task.kind], step: task.step, round: task.roundId });
      // Remembered for `site-agent evaluate`, which works offline on the last model this site saw.
      writeFileSync(join(config.workDir, LAST_TASK_FILE), JSON.stringify({ roster: task.roster, globalModel: task.globalModel, step: task.step }));
      if (task.kind === TaskKind.TASK_KIND_EVALUATE) {
        state = 'evaluating';
        // Other sites' local models first (cross-site matrix), then the global model, whose report completes this site's part.
        for (const local of task.crossSiteModels) {
          const report = await work.evaluate({ ...task, globalModel: local }, fetchModel, sink(task.roundId));
          await client.reportEvaluation({ ...report, evaluatedSiteModel: local.versionId });
        }
        const report = await work.evaluate(task, fetchModel, sink(task.roundId));
        await client.reportEvaluation(report);
        log('info', 'evaluation reported', { round: task.roundId, images: report.images, crossSiteModels: task.crossSiteModels.length });
        continue;
      }
      if (await secure.answer(task)) continue;
      const kind = task.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER ? 'segmenter' : 'generator';
      const saved = join(updatesDir, `${task.roundId}.safetensors`);
      const meta = `${saved}.json`;
      let update: TrainedUpdate;
      if (existsSync(saved) && existsSync(meta)) {
        update = { blob: readFileSync(saved), ...(JSON.parse(readFileSync(meta, 'utf8')) as Omit<TrainedUpdate, 'blob'>) };
        log('info', 'found an update trained before a restart; uploading it', { round: task.roundId });
      } else {
        state = `training ${kind}`;
        const started = Date.now();
        const trained = kind === 'segmenter' ? await work.trainSegmenter(task, fetchModel, sink(task.roundId)) : await work.trainGenerator(task, fetchModel, sink(task.roundId));
        if ('withheld' in trained) {
          // Nothing is written to disk or uploaded: only the reason and the check's numbers leave.
          const ack = await client.reportWithheld({ roundId: task.roundId, kind, reason: trained.reason, metrics: trained.metrics });
          log('warn', 'update withheld', { round: task.roundId, reason: trained.reason, coordinator: ack.message });
          continue;
        }
        update = trained;
        const images = (update.samples.realImages + update.samples.replayImages) * (task.hyperParameters?.localEpochs ?? 0);
        o.metrics?.trained(kind, images, (Date.now() - started) / 1000);
        if (task.secureAggregation) {
          // Masked with this process's keys of the round: useless after a restart, so not kept on disk.
          update = { ...update, blob: secure.mask(task, update.blob, await fetchModel(task.globalModel), update.samples, update.unclippedIndicator) };
        } else {
          writeFileSync(saved, update.blob);
          writeFileSync(meta, JSON.stringify({ samples: update.samples, metrics: update.metrics, unclippedIndicator: update.unclippedIndicator, replayCheck: update.replayCheck }));
        }
      }
      state = 'uploading';
      const p = progressOf('upload', log, sink(task.roundId));
      const receipt = await client.upload(
        { roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind, samples: update.samples, trainMetrics: update.metrics, unclippedIndicator: task.secureAggregation ? undefined : update.unclippedIndicator, replayCheck: update.replayCheck },
        update.blob,
        siteId,
        (f) => p.update(f),
        { onChunkSent: (n) => o.metrics?.uploadedBytes(n), chunkBytes: config.uploadChunkBytes, bytesPerSecond: config.uploadBytesPerSecond },
      );
      p.done();
      if (receipt.state === UploadState.UPLOAD_STATE_ACCEPTED) {
        o.metrics?.settled('accepted');
        log('info', 'update accepted', { round: task.roundId });
      } else if (receipt.state === UploadState.UPLOAD_STATE_REJECTED) {
        o.metrics?.settled('rejected');
        log('warn', 'update rejected', { round: task.roundId, reason: receipt.reason });
      }
      else {
        log('warn', 'upload incomplete; will resume', { round: task.roundId, received: receipt.receivedBytes });
        continue;
      }
      rmSync(saved, { force: true });
      rmSync(meta, { force: true });
    }
  } finally {
    stopBeats.abort();
    await heartbeats;
  }
}
