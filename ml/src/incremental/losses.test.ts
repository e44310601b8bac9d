import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../graph/graph';
import { gradCheck } from '../testing/gradcheck';
import { scalarValue as value } from '../testing/scalar';
import { softmaxCrossEntropy } from '../nn/losses';
import {
  gatherPixels,
  newClassDistillation,
  pixelContrastive,
  podDistillation,
  proximalTerm,
  replayCrossEntropy,
  separatedCrossEntropy,
  softDice,
  unbiasedCrossEntropy,
  unbiasedDistillation,
} from './losses';

const ln = Math.log;
const E = Math.E;

const close = (got: number, want: number, tol = 1e-5) => assert.ok(Math.abs(got - want) <= tol, `got ${got}, want ${want}`);
/** logits [1, C, 1, P] from per-pixel rows. */
const logits = (g: Graph, rows: number[][]) => {
  const C = rows[0].length;
  const P = rows.length;
  const data: number[] = [];
  for (let c = 0; c < C; c++) for (let p = 0; p < P; p++) data.push(rows[p][c]);
  return g.constant(data, [1, C, 1, P]);
};
const labels = (g: Graph, ls: number[]) => g.constant(ls, [1, 1, ls.length], 'int64');

test('cross-entropy with ignore index: (ln 2 + ln 4/3) / 2', async () => {
  const v = await value((g) => softmaxCrossEntropy(logits(g, [[0, 0], [ln(3), 0], [5, -5]]), labels(g, [0, 0, 255])));
  close(v, (ln(2) + ln(4 / 3)) / 2);
});

test('MiB unbiased cross-entropy: background takes the old classes, (ln 3/2 + ln 2) / 2', async () => {
  // 2 old classes (background, 1), new class 2
  const v = await value((g) => unbiasedCrossEntropy(logits(g, [[0, 0, 0], [0, 0, ln(2)], [1, 2, 3]]), labels(g, [0, 2, 255]), 2));
  close(v, (ln(3 / 2) + ln(2)) / 2);
});

test('MiB unbiased distillation: new classes merge into background, KL / K = 1/4 ln 9/8 (MiB averages over the old classes); 0 when matching', async () => {
  // student (0,0,0): merged q = (2/3, 1/3); teacher (0,0): p = (1/2, 1/2); KL = 1/2 ln 9/8, K = 2
  const v = await value((g) => unbiasedDistillation(logits(g, [[0, 0, 0]]), logits(g, [[0, 0]])));
  close(v, 0.25 * ln(9 / 8));
  // a student whose background and new channels split the teacher's background exactly: 0
  const z = await value((g) => unbiasedDistillation(logits(g, [[1 - ln(2), 2, 1 - ln(2)]]), logits(g, [[1, 2]])));
  close(z, 0);
  // temperature 2 scales logits by 1/2 and the loss by 4: teacher (0, 2 ln 3) at T=2 -> (1/4, 3/4)
  const t = await value((g) => unbiasedDistillation(logits(g, [[0, 0, 0]]), logits(g, [[0, 2 * ln(3)]]), { temperature: 2 }));
  close(t, (4 * (0.25 * ln(0.25 / (2 / 3)) + 0.75 * ln(0.75 / (1 / 3)))) / 2);
});

test('separated cross-entropy: background and new-class pixels over background and the new classes, old-class pixels over all, (2 ln 2 + ln 5/3) / 3', async () => {
  // 2 old classes (background, 1), new classes 2 and 3.
  // (0, ln 5, ln 2, 0) labelled 2: over {0, 2, 3} p2 = 2/4 (plain cross-entropy: 2/9);
  // (0, ln 3, 0, 0) labelled 1: over every class p1 = 3/6; (ln 3, 9, 0, 0) labelled background: over
  // {0, 2, 3} p0 = 3/5, the old class's 9 left out; the ignored pixel takes no part.
  const rows = [[0, ln(5), ln(2), 0], [0, ln(3), 0, 0], [ln(3), 9, 0, 0], [9, 9, 9, 9]];
  const v = await value((g) => separatedCrossEntropy(logits(g, rows), labels(g, [2, 1, 0, 255]), 2));
  close(v, (2 * ln(2) + ln(5 / 3)) / 3);
  // without old classes (step 0: background only) it is plain cross-entropy
  const plain = await value((g) => softmaxCrossEntropy(logits(g, rows), labels(g, [2, 1, 0, 255])));
  close(await value((g) => separatedCrossEntropy(logits(g, rows), labels(g, [2, 1, 0, 255]), 1)), plain);
});

test('replay cross-entropy: a teacher-background pixel counts as background or any new class, (ln 4/3 + ln 3) / 2', async () => {
  // 2 old classes (background, 1), new class 2. Pixel (0, 0, ln 2) labelled background: p0 + p2 = 3/4.
  const v = await value((g) => replayCrossEntropy(logits(g, [[0, 0, ln(2)], [0, 0, 0], [9, 9, 9]]), labels(g, [0, 1, 255]), 2));
  close(v, (ln(4 / 3) + ln(3)) / 2);
  // a student sure of the new class on a teacher-background pixel pays (almost) nothing
  close(await value((g) => replayCrossEntropy(logits(g, [[0, 0, 20]]), labels(g, [0]), 2)), 0, 1e-5);
});

test('new-class distillation (server side): old classes merge into background, KL = 1/2 ln 9/8', async () => {
  // student (0,0,0) merged (2/3, 1/3); reference (0, 0, ln 2): (1/4, 1/4, 1/2) merged (1/2, 1/2)
  const v = await value((g) => newClassDistillation(logits(g, [[0, 0, 0]]), logits(g, [[0, 0, ln(2)]]), 2));
  close(v, 0.5 * ln(9 / 8));
});

test('POD feature distillation: disjoint row/column profiles give distance 2', async () => {
  const v = await value((g) =>
    podDistillation([g.constant([1, 0, 0, 0], [1, 1, 2, 2])], [g.constant([0, 0, 0, 1], [1, 1, 2, 2])], [1]),
  );
  // student: rows (1/2, 0) -> (1, 0), columns (1/2, 0) -> (1, 0); teacher (0, 1), (0, 1): |(1,-1,1,-1)| = 2
  close(v, 2, 1e-4);
  const same = await value((g) => podDistillation([g.constant([1, 2, 3, 4], [1, 1, 2, 2])], [g.constant([2, 4, 6, 8], [1, 1, 2, 2])], [1, 2]));
  close(same, 0, 1e-3); // POD compares normalised profiles: a scaled copy distils to ~0
});

test('cross-image pixel contrastive loss: ln(1 + 1/e) without prototypes, hand value with prototypes', async () => {
  const build = (g: Graph, withProtos: boolean) => {
    // embeddings [N=1, D=2, H=1, W=3] -> pixels (1,0), (1,0), (0,1) of classes 0, 0, 1
    const emb = g.constant([1, 1, 0, 0, 0, 1], [1, 2, 1, 3]);
    const samples = gatherPixels(emb, g.constant([0, 1, 2], [3], 'int64'));
    return pixelContrastive({
      samples,
      sampleClasses: g.constant([0, 0, 1], [3]),
      sampleMask: g.constant([1, 1, 1], [3]),
      prototypes: withProtos ? g.constant([3, 0, 0, 2], [2, 2]) : undefined, // normalised inside: (1,0), (0,1)
      prototypeMask: withProtos ? g.constant([1, 1], [2]) : undefined,
      temperature: 1,
    });
  };
  // anchors 0 and 1: one positive (sim 1) against one negative (sim 0); anchor 2 has no positive
  close(await value((g) => build(g, false)), ln(1 + 1 / E));
  // with prototypes: anchors 0, 1: positives (other sample, prototype 0), denominator 2e + 2;
  // anchor 2: positive prototype 1 (sim 1) against three of sim 0
  close(await value((g) => build(g, true)), (2 * (ln(2 * E + 2) - 1) + (ln(3 + E) - 1)) / 3);
  // padding (mask 0) takes no part: a padded duplicate changes nothing
  const padded = await value((g) => {
    const emb = g.constant([1, 1, 0, 0, 0, 0, 1, 1], [1, 2, 1, 4]);
    return pixelContrastive({
      samples: gatherPixels(emb, g.constant([0, 1, 2, 3], [4], 'int64')),
      sampleClasses: g.constant([0, 0, 1, 1], [4]),
      sampleMask: g.constant([1, 1, 1, 0], [4]),
      temperature: 1,
    });
  });
  close(padded, ln(1 + 1 / E));
});

test('soft Dice: ignored pixels and absent classes take no part, 1 - (2/3)/(5/3) = 3/5; with eps 1, 1 - 5/8', async () => {
  // class 1 on pixel 0 (p = 1/3); pixel 1 ignored (255); pixel 2 background (p_1 = 1/3); class 2 absent
  const rows = [[0, 0, 0], [0, 0, ln(2)], [0, 0, 0]];
  close(await value((g) => softDice(logits(g, rows), labels(g, [1, 255, 0]), { eps: 1e-9 })), 3 / 5);
  close(await value((g) => softDice(logits(g, rows), labels(g, [1, 255, 0]))), 3 / 8);
  // only background labelled: no class present, 0
  close(await value((g) => softDice(logits(g, rows), labels(g, [0, 255, 0]))), 0);
});

test('FedProx proximal term: 1/2 ||w - w_global||^2 = 2.5', async () => {
  const v = await value((g) => proximalTerm([g.constant([1, 2], [2]), g.constant([3], [1])], [g.constant([0, 0], [2]), g.constant([3], [1])]));
  close(v, 2.5);
});

test('the losses have correct gradients (dot-product test)', async () => {
  const lab = { shape: [2, 3, 3], gen: (n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt([0, 1, 2, 255][i % 4])) };
  const checks = [
    await gradCheck((_g, [x, l]) => unbiasedCrossEntropy(x, l, 2), [{ shape: [2, 3, 3, 3] }, lab]),
    await gradCheck((_g, [x, l]) => replayCrossEntropy(x, l, 2), [{ shape: [2, 3, 3, 3] }, lab]),
    await gradCheck((_g, [x, l]) => separatedCrossEntropy(x, l, 2), [{ shape: [2, 3, 3, 3] }, lab]),
    await gradCheck((_g, [x, l]) => softDice(x, l, { eps: 0.5 }), [{ shape: [2, 3, 3, 3] }, lab]),
    await gradCheck((g, [x]) => unbiasedDistillation(x, g.constant(Array.from({ length: 36 }, (_, i) => Math.sin(i)), [2, 2, 3, 3]), { temperature: 2 }), [{ shape: [2, 3, 3, 3] }]),
    await gradCheck((g, [x]) => podDistillation([x], [g.constant(Array.from({ length: 64 }, (_, i) => Math.cos(i)), [2, 2, 4, 4])], [1, 2]), [{ shape: [2, 2, 4, 4] }]),
    await gradCheck(
      (g, [x]) =>
        pixelContrastive({
          samples: gatherPixels(x, g.constant([0, 3, 5, 7, 8, 2], [6], 'int64')),
          sampleClasses: g.constant([0, 0, 1, 1, 2, 0], [6]),
          sampleMask: g.constant([1, 1, 1, 1, 1, 0], [6]),
          prototypes: g.constant([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]),
          prototypeMask: g.constant([1, 0, 1], [3]),
          temperature: 0.5,
        }),
      [{ shape: [1, 3, 3, 3] }],
    ),
  ];
  checks.forEach((r, i) => assert.ok(r.ok, `loss ${i}: analytic ${r.analytic} numeric ${r.numeric}`));
});
