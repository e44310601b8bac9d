/** The PyTorch side of the benchmark: bench/torch_unet.py as a child process answering 'train' /
 * 'infer' with the milliseconds of one step, so that its steps can alternate with ours. */
import { spawn, ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export type TorchHeader = { available: true; version: string; params: number; device: string } | { available: false; reason: string };

/** Where the PyTorch twin runs: which Python (one that has torch) and on which torch device. */
export interface TorchPlace {
  readonly python: string;
  readonly device: 'cpu' | 'cuda';
}

export class TorchServer {
  private waiting: ((line: string) => void)[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams, lines: readline.Interface) {
    lines.on('line', (l) => this.waiting.shift()?.(l));
  }

  /** Starts the server; resolves with its header (and the server when PyTorch is there). */
  static start(place: TorchPlace, threads: number, size: number, batch: number, channels: readonly number[], classes: number): Promise<{ header: TorchHeader; server?: TorchServer }> {
    const script = path.join(__dirname, '..', '..', 'bench', 'torch_unet.py');
    const args = [script, String(threads), String(size), '--batch', String(batch), '--channels', channels.join(','), '--classes', String(classes), '--device', place.device];
    return new Promise((resolve) => {
      const child = spawn(place.python, args);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('error', (e) => resolve({ header: { available: false, reason: `cannot run ${place.python}: ${e.message}` } }));
      child.on('exit', (code) => {
        if (code) resolve({ header: { available: false, reason: `PyTorch run failed: ${stderr.trim().split('\n').pop()}` } });
      });
      const server = new TorchServer(child, readline.createInterface({ input: child.stdout }));
      server.waiting.push((line) => {
        const header = JSON.parse(line) as TorchHeader;
        resolve(header.available ? { header, server } : { header });
      });
    });
  }

  request(cmd: 'train' | 'infer'): Promise<number> {
    return new Promise((resolve) => {
      this.waiting.push((l) => resolve(Number(l)));
      this.child.stdin.write(`${cmd}\n`);
    });
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}
