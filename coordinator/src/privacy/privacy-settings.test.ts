import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainingSettings } from '../config/coordinator-config';
import { dpNormLimits, parsePrivacySettings, siteDifferentialPrivacy } from './privacy-settings';

test('privacy defaults to off; a partial differentialPrivacy object is completed with the defaults', () => {
  assert.deepEqual(parsePrivacySettings(undefined), { differentialPrivacy: null, secureAggregation: null });
  const p = parsePrivacySettings({ differentialPrivacy: { noiseMultiplier: 0.8, budget: { segmenter: 8 } } });
  assert.deepEqual(p.differentialPrivacy, { clipNorm: 1, noiseMultiplier: 0.8, noise: 'site', delta: 1e-5, budget: { segmenter: 8, generator: null }, adaptiveClipping: null });
  assert.deepEqual(siteDifferentialPrivacy(p), { clipNorm: 1, noiseStddev: 0.8, countNoiseStddev: 0 });
  assert.equal(siteDifferentialPrivacy(undefined), undefined, 'steps opened before the setting existed');
});

test('bad privacy settings are refused with the key named, through the training-settings file', () => {
  const bad = (privacy: unknown) => () => parseTrainingSettings(JSON.stringify({ privacy }), 'training.json');
  assert.throws(bad({ differentialPrivacy: { clipNorm: -1 } }), /training\.json: privacy: differentialPrivacy\.clipNorm must be a positive number/);
  assert.throws(bad({ differentialPrivacy: { noiseMultiplier: 0 } }), /noiseMultiplier must be a positive number/);
  assert.throws(bad({ differentialPrivacy: { delta: 1 } }), /delta must be in \(0, 1\)/);
  assert.throws(bad({ differentialPrivacy: { budget: { segmenter: 0 } } }), /budget\.segmenter must be a positive ε or null/);
  assert.throws(bad({ differentialPrivacy: { budget: { classifier: 1 } } }), /budget\.classifier is not a setting/);
  assert.throws(bad({ differentialPrivacy: { sigma: 1 } }), /privacy: differentialPrivacy\.sigma is not a setting/);
  assert.throws(bad({ dp: {} }), /privacy: dp is not a setting/);
  assert.throws(bad({ differentialPrivacy: { noise: 'aggregate' } }), /noise 'aggregate' needs privacy\.secureAggregation/);
  assert.throws(bad({ secureAggregation: { threshold: 1 } }), /secureAggregation\.threshold must be an integer in 2\.\.255/);
  assert.throws(bad({ secureAggregation: { threshold: 5, neighbours: 2 } }), /neighbours 2 leaves fewer holders \(3\) than the threshold 5/);
  // What secure aggregation rules out, checked against the rest of the file.
  const both = (extra: object) => () => parseTrainingSettings(JSON.stringify({ privacy: { secureAggregation: {} }, ...extra }), 'training.json');
  assert.throws(both({ aggregation: { strategy: 'median' } }), /privacy\.secureAggregation: .*fedavg only \(not median/);
  assert.throws(both({ crossSiteEvaluation: true }), /privacy\.secureAggregation: crossSiteEvaluation needs each site's own update/);
  assert.doesNotThrow(both({}));
});

test('secure aggregation: sites always clip; aggregate noise is split over the threshold', () => {
  const sa = parsePrivacySettings({ secureAggregation: { threshold: 4 } });
  assert.deepEqual(sa.secureAggregation, { threshold: 4, neighbours: 0, clipNorm: 10, sampleWeightCap: 1000 });
  assert.deepEqual(siteDifferentialPrivacy(sa), { clipNorm: 10, noiseStddev: 0, countNoiseStddev: 0 });
  const both = parsePrivacySettings({ secureAggregation: { threshold: 4 }, differentialPrivacy: { clipNorm: 2, noiseMultiplier: 1.5, noise: 'aggregate' } });
  // σC / √t per site: the sum of 4 or more carries variance ≥ (σC)².
  assert.deepEqual(siteDifferentialPrivacy(both), { clipNorm: 2, noiseStddev: 1.5, countNoiseStddev: 0 });
});

test('under site noise the coordinator bounds an update by the clip norm plus the noise (a site that skipped clipping is caught)', () => {
  const p = parsePrivacySettings({ differentialPrivacy: { clipNorm: 2, noiseMultiplier: 0.5 } });
  // C + σC (√d + 8) = 2 + 1 · (100 + 8) for d = 10,000.
  assert.deepEqual(dpNormLimits(p, 10_000), { maxDeltaNorm: 110, maxRelativeDeltaNorm: null }, 'noise far beyond 10× the model\'s norm is honest');
  assert.equal(dpNormLimits(parsePrivacySettings({}), 10_000), null, 'no DP: the configured maxUpdateNorm applies');
  // Secure, aggregate noise (threshold 2): the bound of the unmasked mean, with each site's σC/√2.
  assert.ok(Math.abs(dpNormLimits(parsePrivacySettings({ secureAggregation: {}, differentialPrivacy: { noise: 'aggregate' } }), 10_000)!.maxDeltaNorm - (1 + 108 / Math.SQRT2)) < 1e-9);
  // Adaptive clipping: the round's bound, and the update's share of the noise (z_Δ).
  assert.ok(Math.abs(dpNormLimits(parsePrivacySettings({ differentialPrivacy: { adaptiveClipping: {} } }), 10_000, 2)!.maxDeltaNorm - (2 + 2 * 1.154700538 * 108)) < 1e-6);
  // Honest noisy deltas stay under it: the norm of N(0, 1)^d concentrates at √d ± 0.7 (Box–Muller
  // pairs: the two squares of a pair add up to r² = −2 log U).
  let sq = 0;
  for (let i = 0; i < 10_000; i += 2) sq += -2 * Math.log(1 - Math.random());
  assert.ok(2 + Math.sqrt(sq) < 110);
});
