/**
 * The agent's Prometheus metrics, served on a local port when asked for (`run --metrics-port`; off
 * by default): the step it works on, its latest training losses, its training throughput and the
 * bytes it uploaded. Numbers about the work, never about patients.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly step = new Gauge({ name: 'fedciss_agent_step', help: 'Incremental step of the task being worked on', registers: [this.registry] });
  private readonly loss = new Gauge({
    name: 'fedciss_agent_loss',
    help: 'Latest training loss reported during local training, by phase (train: segmenter, generator) and loss term',
    labelNames: ['phase', 'term'] as const,
    registers: [this.registry],
  });
  private readonly throughput = new Gauge({
    name: 'fedciss_agent_images_per_second',
    help: 'Images trained on per second in the last local training (samples x epochs / wall time, data loading and replay generation included), by model kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly uploaded = new Counter({ name: 'fedciss_agent_upload_bytes_total', help: 'Update bytes sent to the coordinator', registers: [this.registry] });
  private readonly updates = new Counter({
    name: 'fedciss_agent_updates_total',
    help: 'Uploads the coordinator settled, by outcome (accepted | rejected)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.uploaded.inc(0);
  }

  taskStep(step: number): void {
    this.step.set(step);
  }

  /** Progress of a phase with its metrics (losses while training). */
  progress(phase: string, metrics: Record<string, number>): void {
    if (phase !== 'train' && phase !== 'generator') return;
    for (const [term, v] of Object.entries(metrics)) if (Number.isFinite(v)) this.loss.set({ phase, term }, v);
  }

  trained(kind: 'segmenter' | 'generator', images: number, seconds: number): void {
    if (images > 0 && seconds > 0) this.throughput.set({ kind }, images / seconds);
  }

  uploadedBytes(n: number): void {
    if (n > 0) this.uploaded.inc(n);
  }

  settled(outcome: 'accepted' | 'rejected'): void {
    this.updates.inc({ outcome });
  }

  /** Serves GET /metrics on host:port (port 0: any free port); resolves with the bound address. */
  async serve(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
    const server: Server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(body),
        (e) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `http://${shown}:${address.port}/metrics`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
