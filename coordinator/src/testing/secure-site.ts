/**
 * A test site that plays the site agent's part of secure aggregation over gRPC (proto's secagg
 * core, as site-agent/src/privacy/secure-rounds.ts does): for coordinator tests and benchmarks.
 * Its "training" shifts the global model; it keeps what must never reach the coordinator (its
 * quantised input and trained weights) and what does (its masked uploads), for tests to search.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { secagg, SecAggStage, TaskKind, UploadState, type Task } from '@fedciss/proto';
import { TestSiteClient } from './site-client';
import { until } from './until';

function md(siteId: string): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('x-site-id', siteId);
  return m;
}

function call(fn: (cb: (e: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((e) => (e ? reject(e) : resolve())));
}

/** The global model with every weight moved by `by`, varied per position so sums are not trivial. */
export function shiftedModel(weights: NamedTensors, by: number): NamedTensors {
  return new Map([...weights].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v, i) => v + by * (1 + (i % 3) / 10)) }]));
}

/** A test site running the site side of secure aggregation (proto's secagg core, as the agent
 * does) over its client, which it expects enrolled. */
export class SecureTestSite {
  private sa?: secagg.SecAggClient;
  /** Never to be found at the coordinator: each round's quantised input and trained head weights. */
  readonly secrets: Buffer[] = [];
  /** What the coordinator does keep: the masked uploads. */
  readonly masked: Buffer[] = [];
  /** The norm of the last delta before clipping. */
  lastDeltaNorm?: number;

  constructor(readonly client: TestSiteClient, readonly name: string, readonly shift: number, readonly samples: number, private readonly pollMs = 50) {}

  get id(): string {
    return this.client.siteId;
  }

  /** Polls (with a heartbeat) until a training task at `stage` arrives, for `roundId` if given. */
  task(stage: SecAggStage, roundId?: string, timeoutMs = 60_000): Promise<Task> {
    return until(`${this.name}: stage ${SecAggStage[stage]}`, async () => {
      await this.client.heartbeat();
      const t = await this.client.getTask();
      return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t.secureAggregation?.stage === stage && (!roundId || t.roundId === roundId) && t;
    }, timeoutMs, this.pollMs);
  }

  async advertise(): Promise<string> {
    const t = await this.task(SecAggStage.SEC_AGG_STAGE_ADVERTISE);
    this.sa = new secagg.SecAggClient(this.id, { roundId: t.roundId, threshold: t.secureAggregation!.threshold, neighbours: t.secureAggregation!.neighbours });
    const a = this.sa.advertise();
    await call((cb) => this.client.client.secAggAdvertise({ roundId: t.roundId, encryptionKey: Buffer.from(a.encryptionKey), maskKey: Buffer.from(a.maskKey), selfSeedHash: Buffer.from(a.selfSeedHash) }, md(this.id), cb));
    return t.roundId;
  }

  async share(roundId: string): Promise<void> {
    const t = await this.task(SecAggStage.SEC_AGG_STAGE_SHARE_KEYS, roundId);
    const shares = await this.sa!.shareKeys(t.secureAggregation!.roster);
    await call((cb) => this.client.client.secAggShareKeys({ roundId, shares: shares.map((e) => ({ fromSite: e.from, toSite: e.to, ciphertext: Buffer.from(e.ciphertext) })) }, md(this.id), cb));
  }

  /**
   * "Trains" (shifts the global model), masks and uploads; returns the global model. It clips its
   * delta to the task's bound (no noise: tests check sums) and, under adaptive clipping, appends its
   * bit "within the bound" (noise-free), as the agent does.
   */
  async upload(roundId: string): Promise<NamedTensors> {
    const t = await this.task(SecAggStage.SEC_AGG_STAGE_MASKED_INPUT, roundId);
    const sa = t.secureAggregation!;
    const dp = t.hyperParameters?.differentialPrivacy;
    const global = decodeSafetensors(await this.client.download(t.globalModel!.versionId)).tensors;
    const local = shiftedModel(global, this.shift);
    const weight = sa.sampleWeightCap > 0 ? Math.min(this.samples, sa.sampleWeightCap) : 1;
    // As the agent: the delta is clipped (to the task's bound) before it is weighted.
    let delta = secagg.weightedDelta(global, local, 1);
    const norm = Math.sqrt(delta.reduce((a, v) => a + v * v, 0));
    this.lastDeltaNorm = norm;
    const factor = dp && norm > dp.clipNorm ? dp.clipNorm / norm : 1;
    delta = delta.map((v) => v * factor * weight);
    if (dp && dp.countNoiseStddev > 0) delta = secagg.withIndicator(delta, norm <= dp.clipNorm ? 1 : 0, secagg.indicatorScale(dp.clipNorm, dp.countNoiseStddev));
    const x = secagg.quantise(delta, { range: sa.quantisationRange, sites: sa.quantisationSites });
    const masked = secagg.encodeMasked(this.sa!.maskInput(x, sa.sharers));
    this.secrets.push(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(local.get('head.weight')!.data.buffer));
    this.masked.push(masked);
    const receipt = await this.client.upload(
      { idempotencyKey: `key-${this.name}-${roundId}`, roundId, baseVersionId: t.globalModel!.versionId, kind: 'segmenter', samples: { realImages: this.samples, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
      masked,
      { chunkBytes: 1024 * 1024 },
    );
    if (receipt.state !== UploadState.UPLOAD_STATE_ACCEPTED) throw new Error(`${this.name}'s masked upload was not accepted: ${receipt.reason}`);
    return global;
  }

  async reveal(roundId: string): Promise<void> {
    const t = await this.task(SecAggStage.SEC_AGG_STAGE_UNMASK, roundId);
    const sa = t.secureAggregation!;
    const dropped = sa.sharers.filter((id) => !sa.survivors.includes(id));
    const shares = this.sa!.reveal(sa.survivors, dropped, sa.incoming.map((e) => ({ from: e.fromSite, to: e.toSite, ciphertext: e.ciphertext })));
    await call((cb) => this.client.client.secAggReveal({ roundId, shares: shares.map((r) => ({ owner: r.owner, secret: r.secret, share: Buffer.from(r.share) })) }, md(this.id), cb));
  }
}
