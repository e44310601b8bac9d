import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffusionGeometry, parseDiffusionConfig, trainDiffusion } from '@fedciss/ml';
import { parseTrainingSettings } from '@fedciss/coordinator';
import { demoRounds, demoTraining, DEMO_GENERATOR_ROUNDS, DEMO_GENERATOR_STEPS, DEMO_IMAGES_PER_SURGERY, DEMO_TRAIN_SURGERIES_PER_STEP } from './demo-profile';

/** How many optimizer steps a site's generator round runs under these settings: ml's own count,
 * read from the first progress report (then the run is stopped). */
async function stepsOfRound(settings: ReturnType<typeof parseTrainingSettings>, images: number): Promise<number> {
  const config = parseDiffusionConfig(settings.generator, 'demo');
  const { channels, height, width } = diffusionGeometry(config);
  const stop = new AbortController();
  let steps = -1;
  await assert.rejects(
    trainDiffusion({
      config,
      images: Array.from({ length: images }, () => new Float32Array(channels * height * width).fill(0.5)),
      epochs: settings.generatorTraining.epochs,
      batchSize: settings.generatorTraining.batchSize,
      onProgress: (p) => {
        steps = p.steps;
        stop.abort();
      },
      signal: stop.signal,
    }),
    /aborted/,
  );
  return steps;
}

test("the demo's generator rounds are sized by steps: each site trains DEMO_GENERATOR_STEPS whatever the machine's load", async () => {
  for (const scale of [1, 2]) {
    const settings = parseTrainingSettings(JSON.stringify(demoTraining(scale)), 'demo');
    // No wall-clock budget: with one, a loaded machine trained 33 steps in 120 s (noise on the reports page).
    assert.equal(settings.generatorTraining.seconds, 0);
    const steps = await stepsOfRound(settings, DEMO_TRAIN_SURGERIES_PER_STEP * DEMO_IMAGES_PER_SURGERY * scale);
    assert.ok(steps >= DEMO_GENERATOR_STEPS * scale && steps < DEMO_GENERATOR_STEPS * scale + 2, `scale ${scale}: ${steps} steps a round`);
  }
  const timed = parseTrainingSettings(JSON.stringify(demoTraining(1, { seconds: 430 })), 'demo');
  assert.equal(timed.generatorTraining.seconds, 430);
});

test("the demo averages the sites' generators every DEMO_GENERATOR_STEPS steps: several generator rounds a step, 1600 steps in all", () => {
  for (const scale of [1, 2]) {
    const flags = demoRounds(scale);
    const rounds = Number(flags[flags.indexOf('--generator-rounds') + 1]);
    assert.equal(rounds, DEMO_GENERATOR_ROUNDS);
    assert.ok(rounds > 1, 'one long round averages generators trained far apart into a blur');
    assert.equal(rounds * DEMO_GENERATOR_STEPS, 1600, 'the step budget the demo\'s time was measured with');
  }
});
