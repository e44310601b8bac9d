import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextClipNorm, noisyUnclippedFraction, updateNoiseMultiplier } from './adaptive-clipping';
import { rdpSampledGaussian } from './rdp';
import { parsePrivacySettings, siteDifferentialPrivacy } from './privacy-settings';

test('the geometric quantile update, against a case worked by hand', () => {
  // 5 sites, C = 2: two updates within the bound, three clipped; the count's noise drew +0.3.
  const fraction = noisyUnclippedFraction(1 + 1 + 0 + 0 + 0 + 0.3, 5);
  assert.ok(Math.abs(fraction - 0.46) < 1e-15);
  // γ 0.5, η 0.2: C' = 2 · exp(−0.2 · (0.46 − 0.5)) = 2 · exp(0.008) = 2 · 1.0080320855 = 2.016064171.
  assert.ok(Math.abs(nextClipNorm(2, fraction, { targetQuantile: 0.5, learningRate: 0.2 }) - 2.016064171) < 1e-9);
  // Every update within the bound: C shrinks by exp(−0.2 · 0.5) = 0.904837418.
  assert.ok(Math.abs(nextClipNorm(1, 1, { targetQuantile: 0.5, learningRate: 0.2 }) - 0.904837418) < 1e-9);
  // None within (γ 0.9, η 1): C grows by e^0.9 = 2.459603111.
  assert.ok(Math.abs(nextClipNorm(1, 0, { targetQuantile: 0.9, learningRate: 1 }) - 2.459603111) < 1e-9);
});

test('without noise the bound settles at the target quantile of the norms', () => {
  // 100 sites with update norms 0.1, 0.2, …, 10: the 0.3 quantile is 3.
  const norms = Array.from({ length: 100 }, (_, i) => (i + 1) / 10);
  let C = 0.05;
  for (let round = 0; round < 300; round++) C = nextClipNorm(C, norms.filter((n) => n <= C).length / norms.length, { targetQuantile: 0.3, learningRate: 0.2 });
  assert.ok(Math.abs(C - 3) < 0.15, `C ${C} should settle near 3`);
});

test('the update noise multiplier leaves the total at the configured one (by the RDP of each part)', () => {
  // z = 1, σ_b = 1: z_Δ = (1 − 1/4)^(−½) = 1.154700538.
  assert.ok(Math.abs(updateNoiseMultiplier(1, 1) - 1.154700538) < 1e-9);
  // Independently: the updates (sensitivity C, noise z_Δ·C) and the centred bits (sensitivity ½,
  // noise σ_b, i.e. multiplier 2σ_b) compose, order by order, to one Gaussian of multiplier z.
  for (const [z, sb] of [[1, 1], [0.8, 5], [2, 1.2]]) {
    const zd = updateNoiseMultiplier(z, sb);
    for (const alpha of [1.5, 2, 8, 32]) {
      const joint = rdpSampledGaussian(1, zd, alpha) + rdpSampledGaussian(1, 2 * sb, alpha);
      assert.ok(Math.abs(joint - rdpSampledGaussian(1, z, alpha)) < 1e-12 * joint, `z ${z}, σ_b ${sb}, α ${alpha}`);
    }
  }
  assert.throws(() => updateNoiseMultiplier(1, 0.5), /must exceed half the noise multiplier/);
});

test('adaptive clipping settings: defaults, what a site is told, and the bound on the count noise', () => {
  const p = parsePrivacySettings({ differentialPrivacy: { clipNorm: 2, noiseMultiplier: 1, adaptiveClipping: {} } });
  assert.deepEqual(p.differentialPrivacy?.adaptiveClipping, { targetQuantile: 0.5, learningRate: 0.2, countNoiseStddev: 1 });
  // The round's bound (here 3, moved from 2) sets the noise: z_Δ · C.
  const site = siteDifferentialPrivacy(p, 3)!;
  assert.equal(site.clipNorm, 3);
  assert.ok(Math.abs(site.noiseStddev - 3 * 1.154700538) < 1e-8);
  assert.equal(site.countNoiseStddev, 1);
  // With secure aggregation and aggregate noise, each of ≥ t sites adds 1/√t of both noises.
  const sa = parsePrivacySettings({ secureAggregation: { threshold: 4 }, differentialPrivacy: { noise: 'aggregate', adaptiveClipping: { countNoiseStddev: 2 } } });
  assert.equal(siteDifferentialPrivacy(sa)!.countNoiseStddev, 1);
  assert.throws(() => parsePrivacySettings({ differentialPrivacy: { noiseMultiplier: 2, adaptiveClipping: { countNoiseStddev: 1 } } }), /differentialPrivacy\.adaptiveClipping\.countNoiseStddev must exceed half of noiseMultiplier \(1\)/);
  assert.throws(() => parsePrivacySettings({ differentialPrivacy: { adaptiveClipping: { targetQuantile: 1 } } }), /adaptiveClipping\.targetQuantile must be in \(0, 1\)/);
  assert.throws(() => parsePrivacySettings({ differentialPrivacy: { adaptiveClipping: { quantile: 0.5 } } }), /adaptiveClipping\.quantile is not a setting/);
});
