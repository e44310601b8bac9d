import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epsilonOfReleases, parseTrainingSettings } from '@fedciss/coordinator';
import { DP_DELTA, dpMethods, parseEpsilons, releasesPerSite } from './dp';
import { PROFILES, trainingSettings } from './methods';
import { parseSetting } from './settings';
import { parseArgs } from './cli';

test('--dp-epsilon: "ours" with a noise multiplier that spends exactly the target ε over the run\'s rounds', () => {
  const profile = PROFILES.quick;
  const schedule = parseSetting('6-1'); // 6 steps: segmenter rounds at 5 of them, generator rounds at 4
  assert.equal(releasesPerSite(profile, schedule), Math.max(5 * profile.segmenterRounds, 4 * profile.generatorRounds));
  const o = parseArgs(['--dp-epsilon', '8,1', '--dp-clip', '0.5']);
  const [eps8, eps1] = dpMethods(o.dpEpsilons, o.dpClip, profile, schedule);
  assert.deepEqual([eps8.id, eps1.id], ['ours-dp-eps8', 'ours-dp-eps1']);
  for (const [m, target] of [[eps8, 8], [eps1, 1]] as const) {
    const settings = trainingSettings(m, profile, 1);
    // The coordinator takes the file as it is, and the spend over the run's rounds is the target.
    const dp = parseTrainingSettings(JSON.stringify(settings), 'training.json').privacy.differentialPrivacy!;
    assert.equal(dp.clipNorm, 0.5);
    const spent = epsilonOfReleases(Array.from({ length: releasesPerSite(profile, schedule) }, () => ({ noiseMultiplier: dp.noiseMultiplier, samplingRate: 1 })), DP_DELTA).epsilon;
    assert.ok(spent <= target && spent > target * 0.999, `ε ${spent} for target ${target}`);
  }
  assert.throws(() => parseEpsilons('8,0'), /positive numbers/);
});
