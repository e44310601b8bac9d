import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NamedTensor, NamedTensors } from '@fedciss/ml';
import { AggregationStateError, TensorNameMismatchError, TensorShapeMismatchError } from './errors';
import { createStrategy } from './registry';
import { StreamingWeightedMean } from './streaming-mean';
import { decodeServerState, encodeServerState } from './server-state';
import { assertClose, snapshot, tensors, update, values } from '../testing/aggregation';
import type { ServerOptimizerState } from './types';

// Global model for the FedAvg family: w = [1, 1], b = [0].
const global = () => tensors({ w: [[2], [1, 1]], b: [[1], [0]] });
// Site A (1 sample): weights w = [2, 3], b = [1]   (delta w = [1, 2], b = [1])
// Site B (3 samples): weights w = [4, 1], b = [-1] (delta w = [3, 0], b = [-1])
const aWeights = () => tensors({ w: [[2], [2, 3]], b: [[1], [1]] });
const bWeights = () => tensors({ w: [[2], [4, 1]], b: [[1], [-1]] });
const aDelta = () => tensors({ w: [[2], [1, 2]], b: [[1], [1]] });
const bDelta = () => tensors({ w: [[2], [3, 0]], b: [[1], [-1]] });
// FedAvg: w = [(2·1 + 4·3)/4, (3·1 + 1·3)/4] = [3.5, 1.5]; b = (1·1 − 1·3)/4 = −0.5
const FEDAVG = { w: [3.5, 1.5], b: [-0.5] };

describe('FedAvg (streamed, sample-weighted)', () => {
  it('averages full weights by sample count', () => {
    const g = global();
    const a = aWeights();
    const b = bWeights();
    const before = [snapshot(g), snapshot(a), snapshot(b)];
    const round = createStrategy({ strategy: 'fedavg' }).begin(g, null);
    assert.equal(round.memory, 'streaming');
    assert.deepEqual(round.add(update('A', 1, 'weights', a)), { weight: 1, clipFactor: 1 });
    round.add(update('B', 3, 'weights', b));
    const result = round.finish();
    assert.deepEqual(values(result.weights), FEDAVG);
    assert.deepEqual([result.contributors, result.totalSamples, result.clipped, result.state], [2, 4, 0, null]);
    assert.deepEqual([snapshot(g), snapshot(a), snapshot(b)], before, 'no input mutated');
    assert.notEqual(result.weights.get('w')!.data, g.get('w')!.data);
  });

  it('gives the same result from deltas, and from a mix of deltas and weights', () => {
    for (const [a, b] of [
      [update('A', 1, 'delta', aDelta()), update('B', 3, 'delta', bDelta())],
      [update('A', 1, 'weights', aWeights()), update('B', 3, 'delta', bDelta())],
    ]) {
      const round = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
      round.add(a);
      round.add(b);
      assert.deepEqual(values(round.finish().weights), FEDAVG);
    }
  });

  it('streams a one-shot generator of tensors', () => {
    function* lazy(t: NamedTensors): Generator<[string, NamedTensor]> {
      for (const entry of t) yield entry;
    }
    const round = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
    round.add({ siteId: 'A', sampleCount: 1, kind: 'weights', tensors: lazy(aWeights()) });
    round.add({ siteId: 'B', sampleCount: 3, kind: 'weights', tensors: lazy(bWeights()) });
    assert.deepEqual(values(round.finish().weights), FEDAVG);
  });

  it('clips each delta to the norm bound before averaging', () => {
    // A's delta w = [3, 0], b = [4] has norm 5 → ×0.2 → w = [0.6, 0], b = [0.8]
    // B's delta w = [0, 0.5], b = [0] has norm 0.5 ≤ 1, unchanged. Equal weights:
    // mean delta w = [0.3, 0.25], b = [0.4]; new weights = g + mean = [1.3, 1.25], [0.4]
    const expected = { w: [1.3, 1.25], b: [0.4] };
    const aW = tensors({ w: [[2], [4, 1]], b: [[1], [4]] }); // g + A's delta
    const bD = tensors({ w: [[2], [0, 0.5]], b: [[1], [0]] });
    for (const aUpdate of [update('A', 5, 'weights', aW), update('A', 5, 'weights', aW, 5)]) {
      const round = createStrategy({ strategy: 'fedavg', clipNorm: 1 }).begin(global(), null);
      assert.deepEqual(round.add(aUpdate), { weight: 5, clipFactor: 0.2 });
      round.add(update('B', 5, 'delta', bD));
      const result = round.finish();
      assertClose([...result.weights.get('w')!.data], expected.w);
      assertClose([...result.weights.get('b')!.data], expected.b);
      assert.equal(result.clipped, 1);
    }
    assert.deepEqual([...aW.get('w')!.data], [4, 1], 'clipping scales on the fly, not in place');
  });

  it('clipping a one-shot stream needs the delta norm from validation', () => {
    const round = createStrategy({ strategy: 'fedavg', clipNorm: 1 }).begin(global(), null);
    const once = aWeights().entries();
    assert.throws(() => round.add({ siteId: 'A', sampleCount: 1, kind: 'weights', tensors: once }), AggregationStateError);
  });

  it('raises typed errors naming the tensor and both shapes, then refuses further use', () => {
    const round = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
    const bad = tensors({ w: [[3], [1, 2, 3]], b: [[1], [0]] });
    assert.throws(
      () => round.add(update('A', 1, 'weights', bad)),
      (e: unknown) =>
        e instanceof TensorShapeMismatchError &&
        e.tensor === 'w' &&
        e.expectedShape.join() === '2' &&
        e.actualShape.join() === '3' &&
        /'w'.*\[2\].*\[3\]/.test(e.message),
    );
    const round2 = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
    const missing = tensors({ w: [[2], [1, 2]] });
    assert.throws(
      () => round2.add(update('A', 1, 'weights', missing)),
      (e: unknown) => e instanceof TensorNameMismatchError && e.tensor === 'b' && e.problem === 'missing',
    );
    assert.throws(() => round2.add(update('B', 1, 'weights', bWeights())), AggregationStateError);
    const round3 = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
    const extra = tensors({ w: [[2], [1, 2]], b: [[1], [0]], z: [[1], [0]] });
    assert.throws(() => round3.add(update('A', 1, 'weights', extra)), (e: unknown) => e instanceof TensorNameMismatchError && e.tensor === 'z');
  });

  it('refuses to finish with no update, or to add after finishing', () => {
    const round = createStrategy({ strategy: 'fedavg' }).begin(global(), null);
    assert.throws(() => round.finish(), AggregationStateError);
    round.add(update('A', 1, 'weights', aWeights()));
    round.finish();
    assert.throws(() => round.add(update('B', 1, 'weights', bWeights())), AggregationStateError);
  });
});

describe('StreamingWeightedMean in delta space', () => {
  it('averages deltas from weights and deltas alike', () => {
    // deltas: A w = [1, 2], b = [1] (sent as weights); B w = [3, 0], b = [−1] (sent as a delta)
    // weights 1 and 3: w = [(1 + 9)/4, (2 + 0)/4] = [2.5, 0.5]; b = (1 − 3)/4 = −0.5
    const acc = new StreamingWeightedMean(global(), 'delta');
    acc.add(update('A', 1, 'weights', aWeights()));
    acc.add(update('B', 3, 'delta', bDelta()));
    assert.deepEqual(values(acc.result()), { w: [2.5, 0.5], b: [-0.5] });
  });
});

describe('FedProx', () => {
  it('is FedAvg on the server and sends mu to the sites', () => {
    const strategy = createStrategy({ strategy: 'fedprox', proximalMu: 0.1 });
    assert.deepEqual(strategy.siteConfig(), { proximalMu: 0.1 });
    assert.deepEqual(createStrategy({ strategy: 'fedprox' }).siteConfig(), { proximalMu: 0.01 });
    assert.deepEqual(createStrategy({ strategy: 'fedavg' }).siteConfig(), { proximalMu: 0 });
    const round = strategy.begin(global(), null);
    round.add(update('A', 1, 'weights', aWeights()));
    round.add(update('B', 3, 'weights', bWeights()));
    assert.deepEqual(values(round.finish().weights), FEDAVG);
  });
});

describe('FedAdam / FedYogi server optimizers', () => {
  // One tensor x = [0]; η = 1, β1 = β2 = 0.5, τ = 0.5 (v starts at τ² = 0.25).
  const options = { eta: 1, beta1: 0.5, beta2: 0.5, tau: 0.5 };
  const x0 = () => tensors({ x: [[1], [0]] });
  // Two sites with deltas [0] (1 sample) and [4/3] (3 samples): pseudo-gradient Δ = (0 + 4)/4 = 1.
  const run = (strategy: 'fedadam' | 'fedyogi', g: NamedTensors, state: ServerOptimizerState | null) => {
    const round = createStrategy({ strategy, ...options }).begin(g, state);
    round.add(update('A', 1, 'delta', tensors({ x: [[1], [0]] })));
    round.add(update('B', 3, 'weights', tensors({ x: [[1], [g.get('x')!.data[0] + 4 / 3]] })));
    return round.finish();
  };

  it('FedAdam: two rounds by hand', () => {
    // round 1: m = 0.5, v = 0.5·0.25 + 0.5·1 = 0.625, x = 0.5/(√0.625 + 0.5) = 0.387426
    const r1 = run('fedadam', x0(), null);
    const s1 = r1.state!;
    assertClose([...r1.weights.get('x')!.data, s1.m.get('x')!.data[0], s1.v.get('x')!.data[0]], [0.38742588672279304, 0.5, 0.625]);
    assert.equal(s1.step, 1);
    // round 2: m = 0.25 + 0.5 = 0.75, v = 0.3125 + 0.5 = 0.8125, x = 0.387426 + 0.75/(√0.8125 + 0.5) = 0.922610
    const s1Before = snapshot(s1.m).concat(snapshot(s1.v));
    const r2 = run('fedadam', r1.weights, s1);
    assertClose([...r2.weights.get('x')!.data, r2.state!.m.get('x')!.data[0], r2.state!.v.get('x')!.data[0]], [0.9226096452107895, 0.75, 0.8125], 1e-6);
    assert.equal(r2.state!.step, 2);
    assert.deepEqual(snapshot(s1.m).concat(snapshot(s1.v)), s1Before, 'state passed in is not mutated');
  });

  it('FedYogi: two rounds by hand', () => {
    // round 1: v = 0.25 − 0.5·1·sign(0.25 − 1) = 0.75, x = 0.5/(√0.75 + 0.5) = 0.366025
    const r1 = run('fedyogi', x0(), null);
    assertClose([...r1.weights.get('x')!.data, r1.state!.v.get('x')!.data[0]], [0.36602540378443865, 0.75]);
    // round 2: m = 0.75, v = 0.75 + 0.5 = 1.25, x = 0.366025 + 0.75/(√1.25 + 0.5) = 0.829551
    const r2 = run('fedyogi', r1.weights, r1.state);
    assertClose([...r2.weights.get('x')!.data, r2.state!.v.get('x')!.data[0]], [0.8295508953468598, 1.25]);
  });

  it('state is a serialisable value and must belong to the strategy and model', () => {
    const r1 = run('fedadam', x0(), null);
    const decoded = decodeServerState(encodeServerState(r1.state!));
    assert.deepEqual([decoded.strategy, decoded.step, snapshot(decoded.m), snapshot(decoded.v)], ['fedadam', 1, snapshot(r1.state!.m), snapshot(r1.state!.v)]);
    const viaBytes = run('fedadam', r1.weights, decoded);
    const direct = run('fedadam', r1.weights, r1.state);
    assert.deepEqual(values(viaBytes.weights), values(direct.weights));
    assert.throws(() => createStrategy({ strategy: 'fedyogi' }).begin(r1.weights, r1.state), AggregationStateError);
    const otherModel = tensors({ x: [[2], [0, 0]] });
    assert.throws(() => createStrategy({ strategy: 'fedadam' }).begin(otherModel, r1.state), TensorShapeMismatchError);
  });
});

describe('robust strategies (coordinate-wise, unweighted)', () => {
  const g = () => tensors({ x: [[3], [0, 0, 0]] });
  // Four sites' weights; per coordinate, sorted:
  //   [1, 2, 3, 100] → median (2 + 3)/2 = 2.5
  //   [-30, 0, 10, 20] → median (0 + 10)/2 = 5
  //   [-2, -1, 0, 100] → median (−1 + 0)/2 = −0.5
  const sites = [
    [1, 10, -1],
    [2, 20, -2],
    [3, -30, 100],
    [100, 0, 0],
  ];

  it('median', () => {
    const round = createStrategy({ strategy: 'median' }).begin(g(), null);
    assert.equal(round.memory, 'buffered');
    sites.forEach((v, i) => round.add(update(`s${i}`, 1 + 100 * i, 'weights', tensors({ x: [[3], v] }))));
    const result = round.finish();
    assert.deepEqual(values(result.weights), { x: [2.5, 5, -0.5] });
    assert.equal(result.totalSamples, 1 + 101 + 201 + 301);
  });

  it('median of deltas is taken around the global model', () => {
    // g = [1, 1, 1]; deltas as above → g + median = [3.5, 6, 0.5]
    const round = createStrategy({ strategy: 'median' }).begin(tensors({ x: [[3], [1, 1, 1]] }), null);
    sites.forEach((v, i) => round.add(update(`s${i}`, 1, 'delta', tensors({ x: [[3], v] }))));
    assert.deepEqual(values(round.finish().weights), { x: [3.5, 6, 0.5] });
  });

  it('trimmed mean', () => {
    // five sites, fraction 0.2 → trim ⌊0.2·5⌋ = 1 each side: [1, 2, 3, 4, 100] → (2 + 3 + 4)/3 = 3
    const five = [[1], [2], [3], [4], [100]];
    const round = createStrategy({ strategy: 'trimmed-mean', trimFraction: 0.2 }).begin(tensors({ x: [[1], [0]] }), null);
    five.forEach((v, i) => round.add(update(`s${i}`, 1, 'weights', tensors({ x: [[1], v] }))));
    assert.deepEqual(values(round.finish().weights), { x: [3] });
    // fraction 0 is the unweighted mean: 110/5 = 22
    const plain = createStrategy({ strategy: 'trimmed-mean', trimFraction: 0 }).begin(tensors({ x: [[1], [0]] }), null);
    five.forEach((v, i) => plain.add(update(`s${i}`, 1, 'weights', tensors({ x: [[1], v] }))));
    assert.deepEqual(values(plain.finish().weights), { x: [22] });
  });

  it('clips before taking the median, and a bad update leaves the round as it was', () => {
    // g = [0]; weights [10], [-10], [0.5] with clip 1 → [1], [-1], [0.5] → median 0.5
    const round = createStrategy({ strategy: 'median', clipNorm: 1 }).begin(tensors({ x: [[1], [0]] }), null);
    assert.throws(() => round.add(update('bad', 1, 'weights', tensors({ y: [[1], [0]] }))), TensorNameMismatchError);
    for (const v of [10, -10, 0.5]) round.add(update('s', 1, 'weights', tensors({ x: [[1], [v]] })));
    const result = round.finish();
    assert.deepEqual(values(result.weights), { x: [0.5] });
    assert.deepEqual([result.contributors, result.clipped], [3, 2]);
  });
});
