/**
 * `npm run pretrain:generator`: the demo's starting generator, trained on public scenes (or, with
 * `--for ciss-quick|ciss-default`, one for a bench:ciss profile's step 0 to start from: targets.ts).
 *
 * A federation need not grow its diffusion generator from fresh weights: a generator pretrained
 * elsewhere, on public data (for laparoscopy: Cholec80, the Endoscapes and HeiSurF sets, ...), is
 * imported before step 0 (`coordinator models import --kind generator`) and the sites train on
 * from it. On these 2 cores a generator trained from scratch inside the demo's budget gives
 * blurred tissue-coloured fields (fifteenth and sixteenth sessions: 8000 steps a site, or 3200
 * steps centrally on the demo's 72 images, still read as mush), so the demo starts from this one.
 * Its "public" corpus is surgeries of the project's scene generator with a seed of their own:
 * none of them is a demo hospital's patient. The weights are committed (DEMO_PRETRAINED_GENERATOR)
 * so that the demo does not spend half an hour on them; this program is how they were made.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { diffusion, diffusionGeometry, encodeSafetensors, noiseImages, realismReport, REPLAY_GENERATOR_TRAINING, REPLAY_SAMPLING_STEPS, sampleImages, trainDiffusion, type DiffusionConfig, type NamedTensors } from '@fedciss/ml';
import { planarToPng, resizeImage } from '@fedciss/ml/images';
import { siteData } from '../bench/replay/data';
import { PRETRAIN_TARGETS, targetConfig, type PretrainTarget } from './targets';

/** The public corpus: surgeries of the scene generator under a seed no demo hospital uses (the
 * demo's is 2025) nor any bench:ciss seed (1, 2, ...). */
export const PUBLIC_CORPUS = { seed: 4242, surgeries: 20, imagesPerSurgery: 24, testSurgeries: 2 } as const;
export const PRETRAIN_STEPS = 30_000;

interface Options {
  target: PretrainTarget;
  steps: number;
  out: string;
  png?: string;
  /** With png: a sheet every this many steps as well (FILE-stepN.png), the learning curve by eye. */
  sheetEvery: number;
  threads: number;
}

const USAGE = `npm run pretrain:generator -- [--for ${Object.keys(PRETRAIN_TARGETS).join('|')} (default demo)] [--steps N (default ${PRETRAIN_STEPS})] [--out FILE (default the target's committed file)] [--png FILE (a sheet of 16 samples) [--sheet-every N (also FILE-stepN.png)]] [--threads N]\n`;

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: { for: { type: 'string' }, steps: { type: 'string' }, out: { type: 'string' }, png: { type: 'string' }, 'sheet-every': { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const whole = (flag: string, value: string | undefined, fallback: number, min: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!(Number.isInteger(n) && n >= min)) throw new Error(`--${flag} must be a whole number >= ${min}, got '${value}'`);
    return n;
  };
  const name = v.for ?? 'demo';
  const target = PRETRAIN_TARGETS[name];
  if (!target) throw new Error(`--for must be one of ${Object.keys(PRETRAIN_TARGETS).join(', ')}, got '${name}'`);
  return {
    target,
    steps: whole('steps', v.steps, PRETRAIN_STEPS, 1),
    out: v.out ? resolve(v.out) : target.file,
    png: v.png && resolve(v.png),
    sheetEvery: whole('sheet-every', v['sheet-every'], 0, 0),
    threads: whole('threads', v.threads, availableParallelism(), 1),
  };
}

/** 16 samples, 4x enlarged, in two rows of eight. */
function sampleSheet(samples: Float32Array, config: DiffusionConfig): Buffer {
  const { channels, height: H, width: W } = diffusionGeometry(config);
  const scale = 4;
  const [cols, rows, gap] = [8, 2, 2];
  const cellH = H * scale + gap;
  const cellW = W * scale + gap;
  const out = new Float32Array(channels * rows * cellH * cols * cellW).fill(1);
  const plane = rows * cellH * cols * cellW;
  const px = channels * H * W;
  for (let i = 0; i < rows * cols; i++) {
    const big = resizeImage(samples.subarray(i * px, (i + 1) * px), channels, H, W, H * scale, W * scale);
    const [top, left] = [Math.floor(i / cols) * cellH, (i % cols) * cellW];
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < H * scale; y++) out.set(big.subarray((c * H * scale + y) * W * scale, (c * H * scale + y + 1) * W * scale), c * plane + (top + y) * cols * cellW + left);
    }
  }
  return planarToPng(out, 3, rows * cellH, cols * cellW);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const { frame, inputSize } = o.target;
  const config = targetConfig(o.target);
  const geo = diffusionGeometry(config);
  const segmenterGeometry = { channels: 3, height: inputSize[0], width: inputSize[1] };
  const corpus = await siteData({
    dir: join(tmpdir(), `fedciss-public-scenes-${PUBLIC_CORPUS.seed}-${frame.width}x${frame.height}`),
    seed: PUBLIC_CORPUS.seed,
    frame,
    trainSurgeries: PUBLIC_CORPUS.surgeries,
    testSurgeries: PUBLIC_CORPUS.testSurgeries,
    imagesPerSurgery: PUBLIC_CORPUS.imagesPerSurgery,
    classes: ['liver'],
    inputSize,
  });
  const fit = (s: typeof corpus.train) => diffusion.fitImages(s.map((x) => x.image), segmenterGeometry, geo, 'squash');
  const [train, test] = [fit(corpus.train), fit(corpus.test)];
  process.stderr.write(`pretraining ${o.target.name}'s generator on ${train.length} public scenes, ${o.steps} steps, ${o.threads} threads\n`);
  const recipe = REPLAY_GENERATOR_TRAINING;
  const draw = (weights: NamedTensors) => sampleImages({ config, weights, count: 64, steps: REPLAY_SAMPLING_STEPS, seed: 7, runtime: { threads: o.threads } });
  const png = o.png;
  const sheets = png && o.sheetEvery ? Array.from({ length: Math.floor((o.steps - 1) / o.sheetEvery) }, (_, i) => (i + 1) * o.sheetEvery) : [];
  let last = 0;
  const result = await trainDiffusion({
    config,
    images: train,
    steps: o.steps,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    lossWeighting: recipe.lossWeighting,
    minSnrGamma: recipe.minSnrGamma,
    emaDecay: recipe.emaDecay,
    seed: 1,
    runtime: { threads: o.threads },
    checkpoints: sheets,
    onCheckpoint: async (step, _weights, ema) => writeFileSync(png!.replace(/(\.png)?$/, `-step${step}.png`), sampleSheet(await draw(ema), config)),
    onProgress: (p) => {
      if (p.step - last < 500 && p.step !== p.steps) return;
      last = p.step;
      process.stderr.write(`step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} ${Math.round(p.elapsedMs / 1000)} s\n`);
    },
  });
  const samples = await draw(result.emaWeights);
  const summary = {
    steps: result.steps,
    seconds: Math.round(result.seconds),
    msPerStep: Number(result.stepMs.toFixed(1)),
    threads: o.threads,
    target: o.target.name,
    corpus: { ...PUBLIC_CORPUS, images: train.length },
    // Against the corpus's own held-out surgeries, with noise's distance to read it by.
    realismDistance: Number(realismReport(samples, test, geo).frechetDistance.toFixed(4)),
    noiseDistance: Number(realismReport(diffusion.stackImages(noiseImages(64, geo, 99).map((n) => n.image)), test, geo).frechetDistance.toFixed(4)),
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, encodeSafetensors(result.emaWeights, { kind: 'generator', config: JSON.stringify(config), pretraining: JSON.stringify(summary) }));
  if (png) writeFileSync(png, sampleSheet(samples, config));
  process.stdout.write(JSON.stringify({ ...summary, out: o.out }) + '\n');
}

main().catch((e) => {
  process.stderr.write(`pretrain:generator failed: ${(e as Error).message}\n`);
  process.exit(1);
});
