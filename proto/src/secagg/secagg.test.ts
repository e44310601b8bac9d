import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { addInto, SecAggClient, unmaskSum, type EncryptedShare, type SecAggParams } from './protocol';
import { agree, generateKeyPair, publicKeyOf } from './keys';
import { neighbours } from './graph';
import { addMask } from './prg';
import { dequantiseSum, quantise, quantisationScale } from './quantise';
import { indicatorScale, withIndicator } from './masked-update';

/** Deterministic values in [−1, 1]. */
function vector(n: number, seed: number): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
}

interface Run {
  sum: Float64Array;
  expected: Float64Array;
  tolerance: number;
  maskedInputs: Map<string, Uint32Array>;
  inputs: Map<string, Uint32Array>;
}

/**
 * One round over in-memory "transport": every site advertises, sites in `sharers` share keys, sites
 * in `uploaders` send masked inputs, sites in `revealers` answer the unmasking. Sample-weighted
 * FedAvg of the uploaders' vectors is the expected result.
 */
async function round(o: { sites: number; dim: number; params: SecAggParams; noShare?: number[]; noUpload?: number[]; noReveal?: number[] }): Promise<Run> {
  const ids = Array.from({ length: o.sites }, (_, i) => `site-${String(i).padStart(2, '0')}`);
  const clients = new Map(ids.map((id) => [id, new SecAggClient(id, o.params)]));
  const roster = ids.map((id) => clients.get(id)!.advertise());
  const sharers = ids.filter((_, i) => !o.noShare?.includes(i));
  const mailbox = new Map<string, EncryptedShare[]>(ids.map((id) => [id, []]));
  // The server forwards only the bundles of sites that completed sharing, with the roster of the sharers.
  const sharedRoster = roster.filter((a) => sharers.includes(a.siteId));
  for (const id of sharers) for (const e of await clients.get(id)!.shareKeys(sharedRoster)) mailbox.get(e.to)!.push(e);
  const uploaders = sharers.filter((id) => !o.noUpload?.includes(ids.indexOf(id)));
  const quant = { range: 100, sites: o.sites };
  const weights = new Map(ids.map((id, i) => [id, 10 + i]));
  const inputs = new Map<string, Uint32Array>();
  const maskedInputs = new Map<string, Uint32Array>();
  const maskedSum = new Uint32Array(o.dim);
  const expected = new Float64Array(o.dim);
  let totalWeight = 0;
  for (const id of uploaders) {
    const w = weights.get(id)!;
    const x = vector(o.dim, ids.indexOf(id) + 1);
    // Each site sends its sample-weighted vector; the server divides the sum by the total weight.
    const q = quantise(x.map((v) => v * w), quant);
    inputs.set(id, q);
    const y = clients.get(id)!.maskInput(q, sharers);
    maskedInputs.set(id, y);
    addInto(maskedSum, y);
    x.forEach((v, i) => (expected[i] += v * w));
    totalWeight += w;
  }
  expected.forEach((v, i) => (expected[i] = v / totalWeight));
  const dropped = sharers.filter((id) => !uploaders.includes(id));
  const revealers = uploaders.filter((id) => !o.noReveal?.includes(ids.indexOf(id)));
  const revealed = revealers.flatMap((id) => clients.get(id)!.reveal(uploaders, dropped, mailbox.get(id)!));
  const unmasked = await unmaskSum(maskedSum, sharedRoster, sharers, uploaders, revealed, o.params);
  const sum = dequantiseSum(unmasked, quant).map((v) => v / totalWeight);
  // Rounding: at most half a quantisation step per site and coordinate, before dividing by the weight.
  return { sum, expected, tolerance: (uploaders.length * 0.5) / quantisationScale(quant) / totalWeight + 1e-12, maskedInputs, inputs };
}

const maxError = (r: Run) => Math.max(...r.sum.map((v, i) => Math.abs(v - r.expected[i])));

test('key agreement: both ends derive the same key; another round or purpose gives another; a recovered key is checkable', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  assert.deepEqual(agree(a, b.publicKey, 'r1', 'mask'), agree(b, a.publicKey, 'r1', 'mask'));
  assert.notDeepEqual(agree(a, b.publicKey, 'r1', 'mask'), agree(a, b.publicKey, 'r2', 'mask'));
  assert.notDeepEqual(agree(a, b.publicKey, 'r1', 'mask'), agree(a, b.publicKey, 'r1', 'share'));
  assert.deepEqual(Buffer.from(publicKeyOf(a.privateKey)), Buffer.from(a.publicKey));
});

test('the PRG mask is deterministic in its seed and cancels exactly modulo 2^32', () => {
  const seed = randomBytes(32);
  const x = Uint32Array.from({ length: 1000 }, (_, i) => i * 2654435761);
  const y = Uint32Array.from(x);
  addMask(y, seed, 1);
  assert.notDeepEqual(y, x);
  addMask(y, seed, -1);
  assert.deepEqual(y, x);
});

test('quantisation: a sum of encoded vectors decodes to the real sum within half a step per vector, never wrapping', () => {
  const q = { range: 2, sites: 3 };
  const vs = [[2, -2, 0.123456], [2, -2, -1.5], [2, -2, 1e-9]];
  const sum = new Uint32Array(3);
  for (const v of vs) addInto(sum, quantise(v, q));
  const got = dequantiseSum(sum, q);
  const step = 1 / quantisationScale(q);
  [6, -6, 0.123456 - 1.5 + 1e-9].forEach((e, i) => assert.ok(Math.abs(got[i] - e) <= 1.5 * step, `${got[i]} vs ${e}`));
  assert.equal(dequantiseSum(quantise([5], q), q)[0], 2, 'values beyond the range are clamped to it');
});

test('5 sites, every pair masked: the unmasked aggregate equals sample-weighted FedAvg within the quantisation error', async () => {
  const r = await round({ sites: 5, dim: 2000, params: { roundId: 'r-all', threshold: 3, neighbours: 4 } });
  assert.ok(maxError(r) <= r.tolerance, `max error ${maxError(r)} > ${r.tolerance}`);
  // A masked input alone says nothing: decoded as if it were plain, it is far from the site's vector.
  for (const [id, y] of r.maskedInputs) {
    const x = r.inputs.get(id)!;
    let same = 0;
    for (let i = 0; i < x.length; i++) if (x[i] === y[i]) same++;
    assert.ok(same < 5, `${id}: ${same} of ${x.length} words unmasked`);
  }
});

test('a site that drops after sharing keys but before sending its masked input: the others\' aggregate is still exact', async () => {
  const r = await round({ sites: 5, dim: 500, params: { roundId: 'r-drop-before', threshold: 3, neighbours: 4 }, noUpload: [2] });
  assert.ok(maxError(r) <= r.tolerance, `max error ${maxError(r)}`);
});

test('a site that drops after sending its masked input (does not answer the unmasking): its input still counts, exactly', async () => {
  const r = await round({ sites: 5, dim: 500, params: { roundId: 'r-drop-after', threshold: 3, neighbours: 4 }, noReveal: [1] });
  assert.ok(maxError(r) <= r.tolerance, `max error ${maxError(r)}`);
});

test('one site drops before masking and another after, on a SecAgg+ neighbour graph (10 sites, 4 neighbours each), a site that never shared keys too', async () => {
  const r = await round({ sites: 10, dim: 300, params: { roundId: 'r-plus', threshold: 3, neighbours: 4 }, noShare: [7], noUpload: [3], noReveal: [5] });
  assert.ok(maxError(r) <= r.tolerance, `max error ${maxError(r)}`);
  const g = neighbours(Array.from({ length: 10 }, (_, i) => `s${i}`), 'r-plus', 4);
  for (const [id, set] of g) assert.equal(set.size, 4, `${id} has ${set.size} neighbours`);
});

test('too few answers to recover a secret: an error that names the site, no wrong aggregate', async () => {
  await assert.rejects(
    round({ sites: 4, dim: 50, params: { roundId: 'r-few', threshold: 3, neighbours: 3 }, noReveal: [0, 1] }),
    /only 2 of the 3 shares needed to recover site site-\d\d's self mask came back/,
  );
});

test('a site refuses to reveal both secrets of one owner, and shares that were tampered with', async () => {
  const params = { roundId: 'r-refuse', threshold: 2, neighbours: 2 };
  const a = new SecAggClient('a', params);
  const b = new SecAggClient('b', params);
  const c = new SecAggClient('c', params);
  const roster = [a.advertise(), b.advertise(), c.advertise()];
  const toA = [...(await b.shareKeys(roster)), ...(await c.shareKeys(roster))].filter((e) => e.to === 'a');
  await a.shareKeys(roster);
  assert.throws(() => a.reveal(['b', 'c'], ['b'], toA), /named both as a survivor and as dropped/);
  const tampered = toA.map((e) => ({ ...e, ciphertext: Buffer.from(e.ciphertext).fill(7, 20, 21) }));
  assert.throws(() => a.reveal(['b', 'c'], [], tampered), /does not decrypt/);
  assert.equal(a.reveal(['b'], ['c'], toA).length, 2);
});

test('adaptive clipping under masking: the appended "within the bound" words sum to the count of the bits', () => {
  // 4 sites, clip bound 0.5, count noise 0.7 per site: the indicator is scaled into the delta's range.
  const clipNorm = 0.5;
  const countNoise = 0.7;
  const quant = { range: clipNorm + 8 * 0.3, sites: 4 };
  const scale = indicatorScale(clipNorm, countNoise);
  const indicators = [1.2, -0.4, 1, 2.9]; // noisy bits as sites draw them (noise 1.2 − 1 = 0.2, …)
  const sum = new Uint32Array(101);
  indicators.forEach((b, i) => addInto(sum, quantise(withIndicator(vector(100, i + 1).map((v) => v * 0.05), b, scale), quant)));
  const decoded = dequantiseSum(sum, quant);
  const count = decoded[100] / scale;
  // Rounding: half a step per site, divided by the scale.
  assert.ok(Math.abs(count - 4.7) <= (4 * 0.5) / quantisationScale(quant) / scale, `count ${count}`);
  // The largest noisy bit that still fits the range unclamped: 1 + 8 deviations.
  assert.ok((1 + 8 * countNoise) * scale <= quant.range + 1e-12);
});
