/**
 * bench:scale's models section: for each model size, a global model created in the coordinator
 * end's store, downloaded by the agent end, three sites' updates (the global model shifted by
 * 1e-3, 2e-3, 3e-3) written as files and uploaded, their median aggregated by slices into a new
 * version, downloaded and spot-checked (global + 2e-3). Wall time of each phase and the peak RSS
 * of each end (model-ends.ts), next to the model's size.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { peakRssBytes } from './proc-stats';
import type { FromEnd, ToEnd } from './model-ends';

export interface ModelFigures {
  modelBytes: number;
  ok: boolean;
  error?: string;
  sites: number;
  createMs?: number;
  downloadMs?: number;
  uploadMs?: number;
  aggregateMs?: number;
  aggregateScratchBytes?: number;
  resultDownloadMs?: number;
  checkedValues?: number;
  peakRssBytes: { coordinator: number; agent: number };
}

class End {
  readonly child: ChildProcess;
  private readonly inbox: FromEnd[] = [];
  private wake?: () => void;

  constructor(role: 'coordinator' | 'agent' | 'robust', dir: string, args: string[] = []) {
    this.child = fork(join(__dirname, 'model-ends.js'), [role, dir, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

  stop(): void {
    this.child.kill();
  }
}

export async function benchModels(o: { sizesMB: number[]; workDir: string; sites: number }): Promise<ModelFigures[]> {
  const out: ModelFigures[] = [];
  for (const mb of o.sizesMB) {
    const dir = join(o.workDir, `models-${mb}`);
    const coordinator = new End('coordinator', join(dir, 'coordinator'));
    const agent = new End('agent', join(dir, 'agent'));
    const figures: ModelFigures = { modelBytes: 0, ok: false, sites: o.sites, peakRssBytes: { coordinator: 0, agent: 0 } };
    try {
      const address = `127.0.0.1:${(await coordinator.next('listening')).port}`;
      coordinator.send({ type: 'create', megabytes: mb });
      const created = await coordinator.next('created');
      Object.assign(figures, { modelBytes: created.version.sizeBytes, createMs: Math.round(created.ms) });
      agent.send({ type: 'round', address, version: created.version, sites: o.sites });
      const uploaded = await agent.next('uploaded');
      Object.assign(figures, { downloadMs: Math.round(uploaded.downloadMs), uploadMs: Math.round(uploaded.uploadMs) });
      // Scratch of the aggregation: at most the model's size, and 64 MiB at most.
      coordinator.send({ type: 'aggregate', budgetBytes: Math.min(created.version.sizeBytes, 64 * 1024 * 1024) });
      const aggregated = await coordinator.next('aggregated');
      Object.assign(figures, { aggregateMs: Math.round(aggregated.ms), aggregateScratchBytes: aggregated.scratchBytes });
      agent.send({ type: 'fetch', address, version: aggregated.version, expectShift: 2e-3 });
      const fetched = await agent.next('fetched');
      Object.assign(figures, { resultDownloadMs: Math.round(fetched.ms), checkedValues: fetched.checkedValues, ok: true });
    } catch (e) {
      figures.error = (e as Error).message.slice(0, 500);
    } finally {
      figures.peakRssBytes = { coordinator: coordinator.peakRss(), agent: agent.peakRss() };
      coordinator.stop();
      agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    out.push(figures);
    process.stderr.write(`bench:scale models: ${JSON.stringify(figures)}\n`);
  }
  return out;
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
