/**
 * A program of the platform run as its own process, as in production: output captured to a log
 * file (and optionally echoed), waits on log lines, and a kill that really kills (SIGKILL tests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { withMallocTunables } from '@fedciss/proto';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const COORDINATOR_BIN = join(REPO_ROOT, 'coordinator', 'bin', 'coordinator.js');
export const SITE_AGENT_BIN = join(REPO_ROOT, 'site-agent', 'bin', 'site-agent.js');

export interface ChildOptions {
  name: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Echo output lines, prefixed with the name (demo). */
  echo?: (line: string) => void;
}

export class ChildProgram {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly lines: string[] = [];
  private readonly waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  private readonly log: WriteStream;

  constructor(readonly options: ChildOptions) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    this.log = createWriteStream(options.logFile, { flags: 'a' });
    // With the allocator settings the container images and the systemd unit give the programs.
    this.process = spawn(process.execPath, options.args, { env: withMallocTunables({ ...process.env, ...options.env }), stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      this.log.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.lines.push(line);
        if (this.lines.length > 5000) this.lines.shift();
        options.echo?.(line);
        for (const w of [...this.waiters]) {
          if (w.re.test(line)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    };
    this.process.stdout!.on('data', onData);
    this.process.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => this.process.on('exit', (code, signal) => {
      this.log.end();
      resolve({ code, signal });
    }));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first line (already printed or to come) matching `re`. */
  waitFor(re: RegExp, timeoutMs = 60_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.options.name}: no line matching ${re} within ${timeoutMs} ms; last output:\n${this.lines.slice(-30).join('\n')}`)), timeoutMs);
      const exit = this.exited.then((e) => reject(new Error(`${this.options.name} exited (${e.code ?? e.signal}) before printing ${re}; last output:\n${this.lines.slice(-30).join('\n')}`)));
      void exit;
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<unknown> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }
}

export async function runToEnd(options: ChildOptions, timeoutMs = 120_000): Promise<string> {
  const child = new ChildProgram(options);
  const timer = setTimeout(() => void child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${options.name} failed (${code ?? signal}):\n${child.output.slice(-4000)}`);
  return child.output;
}
