/**
 * Progress of long work (epochs, sampling, transfers): a bar on a terminal, throttled log lines
 * elsewhere, and the same numbers reported to the coordinator for the console (throttled too).
 */
import { SingleBar, Presets } from 'cli-progress';
import type { AgentLog } from './log';

export interface Progress {
  update(fraction: number, metrics?: Record<string, number>): void;
  done(): void;
}

export type ProgressSink = (phase: string, fraction: number, metrics: Record<string, number>) => void;

export function progressOf(phase: string, log: AgentLog, sink?: ProgressSink, everyMs = 2000): Progress {
  const tty = process.stderr.isTTY && process.env.FEDCISS_LOG_FORMAT !== 'json';
  const bar = tty ? new SingleBar({ format: `${phase.padEnd(10)} {bar} {percentage}% {metrics}`, hideCursor: true, stream: process.stderr }, Presets.shades_classic) : undefined;
  bar?.start(100, 0, { metrics: '' });
  let last = 0;
  return {
    update(fraction, metrics = {}) {
      const text = Object.entries(metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
      bar?.update(Math.round(fraction * 100), { metrics: text });
      const now = Date.now();
      if (now - last < everyMs && fraction < 1) return;
      last = now;
      if (!bar) log('info', `${phase} progress`, { fraction: Number(fraction.toFixed(3)), ...metrics });
      sink?.(phase, fraction, metrics);
    },
    done() {
      bar?.update(100);
      bar?.stop();
    },
  };
}
