/**
 * bench:scale's models section: for each model size, a real coordinator round (model-ends.ts: the
 * NestJS coordinator on PostgreSQL): the initial global model, downloaded by the agent end, three
 * sites' updates (the global model shifted by 1e-3, 2e-3, 3e-3) written as files and uploaded,
 * validated and aggregated by the round (median, by slices) into a new version, which the step's
 * evaluation round hands out: downloaded and spot-checked (global + 2e-3). Wall time of each phase
 * and the peak RSS of each end, next to the model's size.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { withMallocTunables } from '@fedciss/proto';
import { startPostgresServer } from '@fedciss/coordinator/testing';
import { bytesRead, peakRssBytes, resetPeakRss } from './proc-stats';
import type { FromEnd, ToEnd } from './model-ends';

export interface ModelFigures {
  modelBytes: number;
  ok: boolean;
  error?: string;
  sites: number;
  createMs?: number;
  downloadMs?: number;
  uploadMs?: number;
  /** Each site's upload, validation included; the last one also waits for the round's aggregation. */
  uploadMsPerSite?: number[];
  /** From the last upload's answer to the completed round seen through the REST API (little: the aggregation is in the last upload's time). */
  aggregateMs?: number;
  /** The new version's note: the strategy, and "by slices". */
  aggregateNote?: string;
  /** The coordinator's peak while building the initial model in memory; peakRssBytes.coordinator is the round's, after it. */
  createPeakRssBytes?: number;
  resultDownloadMs?: number;
  checkedValues?: number;
  peakRssBytes: { coordinator: number; agent: number };
  /**
   * What the coordinator read from after the initial model to the result's download (bytesRead):
   * the sites' uploads through their sockets (sites x the model) and its model files; once each
   * stored blob was hashed at every open, ~19x the model at 2.5 GB.
   */
  coordinatorReadBytes?: { chars: number; disk: number };
  /**
   * Each end's full garbage collections over its whole life (each marks the whole heap; see
   * heap-tuning.ts in @fedciss/proto) and their final pauses (incremental marking's steps, most of
   * a collection's cost, run before the pause and are not in it).
   */
  majorGcs?: Record<'coordinator' | 'agent', { majors: number; pauseMs: number }>;
}

class End {
  readonly child: ChildProcess;
  private readonly inbox: FromEnd[] = [];
  private wake?: () => void;

  constructor(role: 'coordinator' | 'agent' | 'robust', dir: string, args: string[] = []) {
    // The coordinator end collects the initial model's garbage before its round's peak starts (gc()).
    const execArgv = role === 'coordinator' ? [...process.execArgv, '--expose-gc'] : process.execArgv;
    this.child = fork(join(__dirname, 'model-ends.js'), [role, dir, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv, env: withMallocTunables() });
    this.child.on('message', (m: FromEnd) => (this.inbox.push(m), this.wake?.()));
    this.child.on('exit', () => this.wake?.());
  }

  async next<T extends FromEnd['type']>(type: T): Promise<Extract<FromEnd, { type: T }>> {
    for (;;) {
      const m = this.inbox.shift();
      if (m?.type === 'failed') throw new Error(m.message);
      if (m?.type === type) return m as Extract<FromEnd, { type: T }>;
      if (m) continue;
      if (this.child.exitCode !== null) throw new Error(`the ${this.child.spawnargs[2]} end exited (${this.child.exitCode})`);
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  send(m: ToEnd): void {
    this.child.send(m);
  }

  peakRss(): number {
    return this.child.exitCode === null ? peakRssBytes(this.child.pid!) : 0;
  }

  /** The end's full garbage collections so far (see model-ends.ts answerGcQueries). */
  async majorGcs(): Promise<{ majors: number; pauseMs: number }> {
    this.send({ type: 'gcs' });
    const { majors, pauseMs } = await this.next('gcs');
    return { majors, pauseMs };
  }

  stop(): void {
    this.child.kill();
  }
}

export async function benchModels(o: { sizesMB: number[]; workDir: string; sites: number }): Promise<ModelFigures[]> {
  const out: ModelFigures[] = [];
  // PostgreSQL, as a deployment has. (On PGlite a 200 MB run stalled once the initial model was
  // stored: no training task and no REST answer for minutes; not diagnosed further.)
  const pg = await startPostgresServer();
  try {
    for (const mb of o.sizesMB) out.push(await benchModel(mb, o, pg.createDatabase(`models_${mb}_${Date.now() % 100000}`)));
  } finally {
    pg.stop();
  }
  return out;
}

async function benchModel(mb: number, o: { workDir: string; sites: number }, databaseUrl: string): Promise<ModelFigures> {
  const dir = join(o.workDir, `models-${mb}`);
  const coordinator = new End('coordinator', join(dir, 'coordinator'), [String(o.sites), String(mb), databaseUrl]);
  const agent = new End('agent', join(dir, 'agent'));
  const figures: ModelFigures = { modelBytes: 0, ok: false, sites: o.sites, peakRssBytes: { coordinator: 0, agent: 0 } };
  try {
    const listening = await coordinator.next('listening');
    agent.send({ type: 'enroll', address: `127.0.0.1:${listening.port}`, enrollAddress: `127.0.0.1:${listening.enrollPort}`, caCertificatePem: listening.caCertificatePem, sites: o.sites });
    await agent.next('enrolled');
    coordinator.send({ type: 'create' });
    const created = await coordinator.next('created');
    // The initial model is built whole in memory (the factory's tensors): its own figure.
    // The round's peak starts after it, once the coordinator end has released those tensors (a
    // 2.5 GB run without that reported the initial model's 2.9 GB, still resident, as the round's).
    figures.createPeakRssBytes = coordinator.peakRss();
    resetPeakRss(coordinator.child.pid!);
    const readBefore = bytesRead(coordinator.child.pid!);
    Object.assign(figures, { modelBytes: created.version.sizeBytes, createMs: Math.round(created.ms) });
    agent.send({ type: 'round' });
    const uploaded = await agent.next('uploaded');
    // The upload that completes the quorum is answered once the round has aggregated (the
    // coordinator aggregates before it replies): the last of uploadMsPerSite includes it.
    const perSite = uploaded.uploadMs.map(Math.round);
    Object.assign(figures, { downloadMs: Math.round(uploaded.downloadMs), uploadMs: perSite.reduce((a, b) => a + b, 0), uploadMsPerSite: perSite });
    coordinator.send({ type: 'aggregate' });
    const aggregated = await coordinator.next('aggregated');
    Object.assign(figures, { aggregateMs: Math.round(aggregated.ms), aggregateNote: aggregated.note });
    // The median of shifts 1e-3, 2e-3, 3e-3.
    agent.send({ type: 'fetch', version: aggregated.version, expectShift: 2e-3 });
    const fetched = await agent.next('fetched');
    const readAfter = bytesRead(coordinator.child.pid!);
    figures.coordinatorReadBytes = { chars: readAfter.chars - readBefore.chars, disk: readAfter.disk - readBefore.disk };
    Object.assign(figures, { resultDownloadMs: Math.round(fetched.ms), checkedValues: fetched.checkedValues, ok: true });
    figures.majorGcs = { coordinator: await coordinator.majorGcs(), agent: await agent.majorGcs() };
  } catch (e) {
    figures.error = (e as Error).message.slice(0, 500);
  } finally {
    figures.peakRssBytes = { coordinator: coordinator.peakRss(), agent: agent.peakRss() };
    coordinator.stop();
    agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write(`bench:scale models: ${JSON.stringify(figures)}\n`);
  return figures;
}

/** Median and trimmed mean of `sites` updates of `megabytes` each, by slices, in a process of its own. */
export async function benchRobust(o: { sites: number; megabytes: number; workDir: string; budgetBytes: number }): Promise<Record<string, unknown>> {
  const dir = join(o.workDir, `robust-${o.sites}x${o.megabytes}`);
  const end = new End('robust', dir, [String(o.sites), String(o.megabytes), String(o.budgetBytes)]);
  try {
    return (await end.next('robust')).figures;
  } catch (e) {
    return { sites: o.sites, megabytes: o.megabytes, ok: false, error: (e as Error).message.slice(0, 500) };
  } finally {
    end.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
