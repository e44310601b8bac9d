import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, diffusionGeometry, parseDiffusionConfig, trainDiffusion } from '@fedciss/ml';
import { parseTrainingSettings } from '@fedciss/coordinator';
import { Federation } from '../harness/federation';
import { demoRounds, demoTraining, DEMO_FRAME, DEMO_GENERATOR_ROUNDS, DEMO_GENERATOR_STEPS, DEMO_IMAGES_PER_SURGERY, DEMO_PRETRAINED_GENERATOR, DEMO_TRAIN_SURGERIES_PER_STEP } from './demo-profile';

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

test("the committed pretrained generator is the demo's architecture, and the coordinator's models import takes it into a new federation", { timeout: 60_000 }, async () => {
  const { metadata } = decodeSafetensors(readFileSync(DEMO_PRETRAINED_GENERATOR));
  assert.deepEqual(JSON.parse(metadata.config), demoTraining(1).generator, 'npm run pretrain:generator again after changing the demo\'s generator');
  const made = JSON.parse(metadata.pretraining) as { steps: number; corpus: { images: number } };
  assert.ok(made.steps > 0 && made.corpus.images > 0, 'how it was made travels with it');
  const workDir = mkdtempSync(join(tmpdir(), 'demo-pretrained-'));
  try {
    // What the demo runs before its coordinator starts, with the demo's training settings.
    const fed = new Federation({ workDir, sites: 1, tls: false, trainSurgeriesPerStep: DEMO_TRAIN_SURGERIES_PER_STEP, steps: 2, testSurgeries: 1, imagesPerSurgery: DEMO_IMAGES_PER_SURGERY, imageSize: DEMO_FRAME, seed: 1, coordinatorFlags: demoRounds(1), training: demoTraining(1) });
    const out = await fed.runCoordinatorCommand(['models', 'import', '--file', DEMO_PRETRAINED_GENERATOR, '--kind', 'generator']);
    assert.match(out, /imported generator \S+ \(step 0\)/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
