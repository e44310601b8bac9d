// Poisoned updates from a malicious site, through a real coordinator (startCoordinator, gRPC
// sites) whose strategy is chosen by `training.aggregation`: NaN, Inf and absurdly scaled weights
// are rejected by the validator with their reasons recorded; a sign-flipped or moderately scaled
// update that passes validation leaves the global model close to the honest sites' mean under
// median, trimmed mean and norm clipping, while plain FedAvg on the same updates is dragged far
// away (which shows that the bound can fail).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { UploadState } from '@fedciss/proto';
import type { TrainingSettings } from '../config/coordinator-config';
import { TestSiteClient } from '../testing/site-client';
import { openStepTasks } from '../testing/test-federation';
import { createStrategy } from '../aggregation';
import { startHarness, until, type Harness } from '../testing/security-harness';

type Poison = 'sign-flip' | 'scale';

/** base + per-coordinate delta. */
function plus(base: NamedTensors, delta: (name: string, i: number) => number): NamedTensors {
  return new Map([...base].map(([k, t]) => [k, { shape: t.shape, data: Float32Array.from(t.data, (v, i) => v + delta(k, i)) }]));
}

/** L2 distance between two models with the same tensors. */
function distance(x: NamedTensors, y: NamedTensors): number {
  let s = 0;
  for (const [k, t] of x) t.data.forEach((v, i) => (s += (v - y.get(k)!.data[i]!) ** 2));
  return Math.sqrt(s);
}

/** An honest site's local change: a common direction plus a little site-specific spread. */
const honestDelta = (site: number) => (name: string, i: number) => 0.05 + 0.01 * Math.sin(site * 1.7 + i + (name === 'head.weight' ? 3 : 0));

interface Outcome {
  base: NamedTensors;
  result: NamedTensors;
  honestMean: NamedTensors;
  /** ‖honest mean − base‖: the size of the honest step. */
  honestStep: number;
  /** ‖result − honest mean‖. */
  error: number;
  rejections: string[];
}

/**
 * One segmenter round with `sites` sites of which the last is malicious. The malicious site first
 * tries NaN, Inf and ×1000 weights (all must be refused), then sends `poison`, which passes
 * validation. Every site reports the same sample count unless `maliciousSamples` is given.
 */
async function poisonedRound(aggregation: TrainingSettings['aggregation'], sites: number, poison: Poison, maliciousSamples = 10, tryInvalid = true): Promise<Outcome> {
  const h: Harness = await startHarness({ tls: false, autoApprove: true, quorum: sites, training: { aggregation, serverDistillSteps: 0 } });
  const clients: TestSiteClient[] = [];
  try {
    for (let s = 0; s < sites; s++) {
      const c = new TestSiteClient(h.address);
      await c.enroll(`Hospital ${s}`);
      await c.heartbeat();
      clients.push(c);
    }
    const [task] = await openStepTasks(h.api, [clients[0]!], ['liver']);
    const base = decodeSafetensors(await clients[0]!.download(task.globalModel!.versionId)).tensors;
    const header = (key: string, samples = 10) => ({
      idempotencyKey: key, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter',
      samples: { realImages: samples, replayImages: 0, labelledPixels: 0 }, trainMetrics: {},
    });
    const honest = clients.slice(0, -1);
    const evil = clients[clients.length - 1]!;
    const honestMean = plus(base, (k, i) => honest.reduce((sum, _, s) => sum + honestDelta(s)(k, i), 0) / honest.length);

    // The validator's line of defence: non-finite values and absurd norms are refused with a reason.
    const nan = plus(base, () => 0);
    nan.get('body.weight')!.data[5] = Number.NaN;
    const inf = plus(base, () => 0);
    inf.get('head.weight')!.data[2] = Number.POSITIVE_INFINITY;
    const huge = plus(base, (k, i) => 999 * base.get(k)!.data[i]!); // ×1000 weights
    for (const [key, weights] of tryInvalid ? ([['evil-nan-0001', nan], ['evil-inf-0001', inf], ['evil-x1000-01', huge]] as const) : []) {
      const r = await evil.upload(header(key), encodeSafetensors(weights));
      assert.equal(r.state, UploadState.UPLOAD_STATE_REJECTED, `${key} was not rejected`);
    }

    for (const [s, c] of honest.entries()) {
      const r = await c.upload(header(`honest-${s}-0001`), encodeSafetensors(plus(base, honestDelta(s))));
      assert.equal(r.state, UploadState.UPLOAD_STATE_ACCEPTED, r.reason);
    }
    // The poison that passes validation: the honest direction reversed and magnified ×5, or magnified ×20.
    const step = (k: string, i: number) => honestMean.get(k)!.data[i]! - base.get(k)!.data[i]!;
    const poisoned = poison === 'sign-flip' ? plus(base, (k, i) => -5 * step(k, i)) : plus(base, (k, i) => 20 * step(k, i));
    const r = await evil.upload(header('evil-poison-01', maliciousSamples), encodeSafetensors(poisoned));
    assert.equal(r.state, UploadState.UPLOAD_STATE_ACCEPTED, `the poison must pass validation for this test to mean anything: ${r.reason}`);

    const round = await until('the round to complete', async () => {
      const rounds = (await h.api('GET', '/api/rounds?step=0')).body as Array<{ kind: string; status: string; resultVersionId: string }>;
      const x = rounds.find((y) => y.kind === 'segmenter');
      return x?.status === 'completed' && x;
    });
    const result = decodeSafetensors(await evil.download(round.resultVersionId)).tensors;
    const updates = (await h.api('GET', `/api/sites/${evil.siteId}/updates`)).body as Array<{ status: string; rejectionReason: string | null }>;
    return {
      base, result, honestMean,
      honestStep: distance(honestMean, base),
      error: distance(result, honestMean),
      rejections: updates.filter((u) => u.status === 'rejected').map((u) => u.rejectionReason ?? ''),
    };
  } finally {
    for (const c of clients) c.close();
    await h.close();
  }
}

describe('poisoned updates', () => {
  // One coordinator per scenario, one after the other (their start-up is CPU-bound).
  let median3: Outcome;
  let trimmed5: Outcome;
  let fedavg5: Outcome;
  before(async () => {
    median3 = await poisonedRound({ strategy: 'median' }, 3, 'sign-flip');
    trimmed5 = await poisonedRound({ strategy: 'trimmed-mean', trimFraction: 0.2, clipNorm: 0.5 }, 5, 'scale', 1000, false);
    fedavg5 = await poisonedRound({ strategy: 'fedavg' }, 5, 'scale', 1000, false);
  });
  after(() => {
    // For the report: how far each strategy ended from the honest mean, in units of the honest step.
    const all = { 'median, 1 of 3 sign-flipped': median3, 'trimmed-mean 0.2 + clipNorm, 1 of 5 scaled x20 claiming 100x samples': trimmed5, 'fedavg, 1 of 5 scaled x20 claiming 100x samples': fedavg5 };
    for (const [k, o] of Object.entries(all)) if (o) console.log(`# ${k}: ‖result − honest mean‖ = ${(o.error / o.honestStep).toFixed(3)} × honest step`);
  });

  /** The same updates as poisonedRound makes, aggregated with the aggregation library (no coordinator). */
  const aggregateLocally = (options: TrainingSettings['aggregation'], sites: number, poison: Poison) => {
    const base = median3.base;
    const ids = Array.from({ length: sites - 1 }, (_, s) => s);
    const honestMean = plus(base, (k, i) => ids.reduce((sum, s) => sum + honestDelta(s)(k, i), 0) / ids.length);
    const step = (k: string, i: number) => honestMean.get(k)!.data[i]! - base.get(k)!.data[i]!;
    const evil = poison === 'sign-flip' ? plus(base, (k, i) => -5 * step(k, i)) : plus(base, (k, i) => 20 * step(k, i));
    const round = createStrategy(options).begin(base, null);
    ids.forEach((s) => round.add({ siteId: `h${s}`, sampleCount: 10, kind: 'weights', tensors: plus(base, honestDelta(s)) }));
    round.add({ siteId: 'evil', sampleCount: 10, kind: 'weights', tensors: evil });
    const result = round.finish().weights;
    return { error: distance(result, honestMean), honestStep: distance(honestMean, base), backwards: distance(result, honestMean) > distance(base, honestMean) };
  };

  test('NaN, Inf and ×1000 weights are rejected by the validator, with their reasons recorded', () => {
    const o = median3;
    assert.equal(o.rejections.length, 3, o.rejections.join(' | '));
    assert.ok(o.rejections.some((r) => /non-finite value \(NaN\)/.test(r)), o.rejections.join(' | '));
    assert.ok(o.rejections.some((r) => /non-finite value \(Infinity\)/i.test(r)), o.rejections.join(' | '));
    assert.ok(o.rejections.some((r) => /global model's norm .* above the bound 10×/.test(r)), o.rejections.join(' | '));
    for (const x of [median3, trimmed5, fedavg5]) for (const t of x.result.values()) assert.ok(t.data.every(Number.isFinite));
  });

  test('1 of 3 sign-flipped (×5): median stays near the honest mean, plain FedAvg does not', () => {
    assert.ok(median3.error <= 0.35 * median3.honestStep, `median ended ${median3.error} from the honest mean (honest step ${median3.honestStep})`);
    // The library reproduces the coordinator's median exactly, so FedAvg on the same updates is a fair comparison.
    assert.ok(Math.abs(aggregateLocally({ strategy: 'median' }, 3, 'sign-flip').error - median3.error) < 1e-5);
    const fedavg = aggregateLocally({ strategy: 'fedavg' }, 3, 'sign-flip');
    assert.ok(fedavg.error > 1.5 * fedavg.honestStep, `fedavg ended only ${fedavg.error} from the honest mean (honest step ${fedavg.honestStep})`);
    assert.ok(fedavg.backwards, 'FedAvg even moved the model against the honest direction');
  });

  test('1 of 5 scaled ×20 claiming 100× the samples: trimmed mean with clipping stays near the honest mean, plain FedAvg does not', () => {
    assert.ok(trimmed5.error <= 0.35 * trimmed5.honestStep, `trimmed mean ended ${trimmed5.error} from the honest mean (honest step ${trimmed5.honestStep})`);
    assert.ok(fedavg5.error > 10 * fedavg5.honestStep, `plain fedavg ended only ${fedavg5.error} from the honest mean`);
  });

  test('1 of 5 scaled ×20: median and trimmed mean without clipping also hold (aggregation library)', () => {
    for (const options of [{ strategy: 'median' }, { strategy: 'trimmed-mean', trimFraction: 0.2 }]) {
      const o = aggregateLocally(options, 5, 'scale');
      assert.ok(o.error <= 0.35 * o.honestStep, `${options.strategy} ended ${o.error} from the honest mean (honest step ${o.honestStep})`);
    }
  });

  test('norm clipping alone bounds a scaled update\'s pull on FedAvg (same updates, aggregation library)', () => {
    const base = median3.base;
    const honest = [0, 1, 2, 3].map((s) => plus(base, honestDelta(s)));
    const honestMean = plus(base, (k, i) => [0, 1, 2, 3].reduce((sum, s) => sum + honestDelta(s)(k, i), 0) / 4);
    const evil = plus(base, (k, i) => 20 * (honestMean.get(k)!.data[i]! - base.get(k)!.data[i]!));
    const run = (options: TrainingSettings['aggregation']) => {
      const round = createStrategy(options).begin(base, null);
      honest.forEach((tensors, s) => round.add({ siteId: `h${s}`, sampleCount: 10, kind: 'weights', tensors }));
      round.add({ siteId: 'evil', sampleCount: 10, kind: 'weights', tensors: evil });
      return distance(round.finish().weights, honestMean);
    };
    const step = distance(honestMean, base);
    const clipped = run({ strategy: 'fedavg', clipNorm: 0.4 });
    const plain = run({ strategy: 'fedavg' });
    assert.ok(clipped <= 0.6 * step, `clipped fedavg ended ${clipped} from the honest mean (honest step ${step})`);
    assert.ok(plain > 2 * step, `plain fedavg ended only ${plain} from the honest mean (honest step ${step})`);
  });
});
