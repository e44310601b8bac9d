/**
 * `npm run bench:replay -- [--quick] [--seeds N] --json FILE`
 *
 * Replay fidelity of the diffusion generator on the demo's scenes and resolution: a teacher
 * segmenter learns the demo's step-0 classes from a site's training patients (cached: the shared
 * starting model of every run); the generator trains on the same images for a wall-clock budget;
 * a fresh student learns ONLY from generated images labelled by the teacher; both are scored on
 * held-out patients. fidelity = student mIoU / teacher mIoU. Next to it: the same student taught
 * on teacher-labelled noise (floor) and on teacher-labelled real training images (ceiling), and
 * the realism distance of the samples to real images with the distances of noise and of real
 * images (training vs test patients) to read it by. Writes a PNG grid of samples with the
 * teacher's labels.
 */
import { cpus, loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  createSegmenterWeights, decodeSafetensors, diffusion, diffusionGeometry, encodeSafetensors, evaluateSegmenter, labelWithTeacher, meanIoU,
  realismReport, replayFidelity, replayGeneratorConfig, REPLAY_GENERATOR_TRAINING, REPLAY_SAMPLING_STEPS, sampleImages, segmenterConfig,
  trainDiffusion, trainLocalSegmenter, privacyReport, type FidelityResult, type ModelRef, type SegImage, type SegSample, type SegmenterConfig,
} from '@fedciss/ml';
import { demoTraining, DEMO_SCHEDULE } from '../../demo/demo-profile';
import { parseArgs, USAGE } from './cli';
import { siteData } from './data';
import { labelledGrid } from './grid';

/** The demo's segmenter and step-0 classes. */
const SEGMENTER = segmenterConfig(demoTraining(1).segmenter as Partial<SegmenterConfig>);
const CLASSES = DEMO_SCHEDULE[0];

const PROFILES = {
  quick: { trainSurgeries: 4, testSurgeries: 2, imagesPerSurgery: 24, teacherSteps: 1200, generatorSeconds: 420, images: 96, studentSteps: 300 },
  full: { trainSurgeries: 6, testSurgeries: 2, imagesPerSurgery: 32, teacherSteps: 1500, generatorSeconds: 900, images: 192, studentSteps: 400 },
};

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: readonly number[]) => (v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)) : 0);

function log(msg: string): void {
  process.stderr.write(`[bench:replay ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const p = PROFILES[o.quick ? 'quick' : 'full'];
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const load0 = loadavg()[0];
  const t0 = Date.now();

  const site = await siteData({
    dir: join(out, `data-${p.trainSurgeries}x${p.imagesPerSurgery}`), seed: 2025, frame: { width: 160, height: 128 },
    trainSurgeries: p.trainSurgeries, testSurgeries: p.testSurgeries, imagesPerSurgery: p.imagesPerSurgery, classes: CLASSES, inputSize: SEGMENTER.inputSize,
  });
  const K = CLASSES.length + 1;
  log(`site: ${site.train.length} training images, ${site.test.length} test images at ${SEGMENTER.inputSize.join('x')}`);

  // The teacher: trained once per dataset and profile, then reused (every run starts from it).
  const teacherFile = join(out, `teacher-${p.trainSurgeries}x${p.imagesPerSurgery}-${p.teacherSteps}.safetensors`);
  let teacherWeights;
  if (existsSync(teacherFile)) teacherWeights = decodeSafetensors(readFileSync(teacherFile)).tensors;
  else {
    log(`training the teacher (${p.teacherSteps} steps)`);
    const r = await trainLocalSegmenter({
      config: SEGMENTER, weights: createSegmenterWeights(SEGMENTER, K, 1), numClasses: K, real: site.train,
      hyper: { epochs: 1, stepsPerEpoch: p.teacherSteps, batchSize: 8, learningRate: 1e-2, lossWeights: { ce: 1, unbiasedCe: 0, kd: 0, pod: 0, contrastive: 0 } },
      seed: 1,
    });
    teacherWeights = r.weights;
    writeFileSync(teacherFile, encodeSafetensors(teacherWeights, { kind: 'segmenter', numClasses: String(K), config: JSON.stringify(SEGMENTER) }));
  }
  const teacher: ModelRef = { config: SEGMENTER, weights: teacherWeights, numClasses: K };
  const teacherCounts = await evaluateSegmenter(teacher, site.test);
  log(`teacher mIoU on the test patients: ${(100 * (meanIoU(teacherCounts) ?? 0)).toFixed(1)}`);

  const config = replayGeneratorConfig(SEGMENTER.inputSize, o.generator);
  const geo = diffusionGeometry(config);
  const training = { ...REPLAY_GENERATOR_TRAINING, seconds: o.generatorSeconds ?? p.generatorSeconds, ...o.generatorTraining };
  const count = o.images ?? p.images;
  const segGeo = { channels: 3, height: SEGMENTER.inputSize[0], width: SEGMENTER.inputSize[1] };
  const realTrain = diffusion.fitImages(site.train.map((s) => s.image), segGeo, geo, 'squash');
  const realTest = diffusion.fitImages(site.test.map((s) => s.image), segGeo, geo, 'squash');
  const asImages = (stack: Float32Array): SegImage[] => diffusion.imageList(stack, geo.channels * geo.height * geo.width).map((image) => ({ image, height: geo.height, width: geo.width }));
  const student = { steps: p.studentSteps, batchSize: 8, learningRate: 1e-2 };

  const runs: { seed: number; fidelity: FidelityResult; realism: number; histogram: number; trainSeconds: number; steps: number; imagesPerSecond: number; flagged: number; loss: number }[] = [];
  let gridSamples: SegSample[] = [];
  for (let seed = o.firstSeed; seed < o.firstSeed + o.seeds; seed++) {
    log(`seed ${seed}: training the generator ${geo.height}x${geo.width} for ${o.generatorSteps ? `${o.generatorSteps} steps` : `${training.seconds} s`}`);
    const budget = o.generatorSteps ? { steps: o.generatorSteps } : training.seconds > 0 ? { maxSeconds: training.seconds } : { epochs: training.epochs };
    const trained = await trainDiffusion({
      config, images: realTrain, ...budget,
      batchSize: training.batchSize, learningRate: training.learningRate, lossWeighting: training.lossWeighting, emaDecay: training.emaDecay, seed,
      onProgress: (q) => q.step % 200 === 0 && log(`  generator step ${q.step}, ${(q.elapsedMs / 1000).toFixed(0)} s, loss ${q.loss.toFixed(4)}`),
    });
    const s0 = Date.now();
    const samples = await sampleImages({ config, weights: trained.emaWeights, count, steps: REPLAY_SAMPLING_STEPS, seed: 1000 + seed });
    const imagesPerSecond = count / ((Date.now() - s0) / 1000);
    diffusion.quantise8(samples);
    // The memorisation check of replay sets: samples too close to a training image are dropped.
    const privacy = privacyReport(samples, realTrain, geo);
    const flagged = new Set(privacy.flagged.map((f) => f.sample));
    const kept = asImages(samples).filter((_, i) => !flagged.has(i));
    const realism = realismReport(samples, realTest, geo);
    const fidelity = await replayFidelity({ teacher, teacherCounts, images: kept, test: site.test, student, seed, confidenceThreshold: o.confidence });
    const loss = mean(trained.losses.slice(-50));
    log(`seed ${seed}: ${trained.steps} steps in ${trained.seconds.toFixed(0)} s (loss ${loss.toFixed(4)}), fidelity ${fidelity.fidelity.toFixed(3)} (student ${(100 * fidelity.studentMiou).toFixed(1)}), realism ${realism.frechetDistance.toFixed(4)}, ${flagged.size} flagged`);
    runs.push({ seed, fidelity, realism: realism.frechetDistance, histogram: realism.histogramDistance, trainSeconds: trained.seconds, steps: trained.steps, imagesPerSecond, flagged: flagged.size / count, loss });
    if (seed === o.firstSeed) gridSamples = await labelWithTeacher(teacher, kept.slice(0, 16));
  }

  // Reading aids: the distances of noise and of real images, and the students of noise and real images.
  const noise = new Float32Array(count * geo.channels * geo.height * geo.width);
  const rand = diffusion.gaussianSource(99);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.min(1, Math.max(0, 0.5 + 0.25 * rand()));
  const noiseDistance = realismReport(noise, realTest, geo).frechetDistance;
  const realDistance = realismReport(realTrain, realTest, geo).frechetDistance;
  let baselines: Record<string, number> | undefined;
  if (o.baselines) {
    // They depend only on the teacher, the images and the student's recipe: computed once, cached.
    const cache = teacherFile.replace(/\.safetensors$/, `-baselines-v2-${count}-${student.steps}-${o.confidence}.json`);
    if (existsSync(cache)) baselines = JSON.parse(readFileSync(cache, 'utf8')) as typeof baselines;
    else {
      log('students of teacher-labelled noise and of teacher-labelled real training images');
      const noiseF = await replayFidelity({ teacher, teacherCounts, images: asImages(noise), test: site.test, student, seed: 1, confidenceThreshold: o.confidence });
      const realF = await replayFidelity({ teacher, teacherCounts, images: site.train, test: site.test, student, seed: 1, confidenceThreshold: o.confidence });
      baselines = {
      noiseFidelity: round(noiseF.fidelity, 3), realFidelity: round(realF.fidelity, 3),
      noiseForegroundFidelity: round(noiseF.foregroundFidelity, 3), realForegroundFidelity: round(realF.foregroundFidelity, 3),
    };
      writeFileSync(cache, JSON.stringify(baselines));
    }
  }

  const gridFile = resolve(o.grid ?? (o.json ? o.json.replace(/\.json$/, '') + '-samples.png' : join(out, 'samples.png')));
  mkdirSync(dirname(gridFile), { recursive: true });
  writeFileSync(gridFile, labelledGrid(gridSamples));

  const fid = runs.map((r) => r.fidelity.fidelity);
  const report = {
    benchmark: 'replay',
    profile: o.quick ? 'quick' : 'full',
    teacherMiou: round(100 * runs[0].fidelity.teacherMiou, 1),
    studentMiou: round(100 * mean(runs.map((r) => r.fidelity.studentMiou)), 1),
    fidelity: round(mean(fid), 3),
    fidelitySd: round(sd(fid), 3),
    foregroundFidelity: round(mean(runs.map((r) => r.fidelity.foregroundFidelity)), 3),
    realismDistance: round(mean(runs.map((r) => r.realism)), 4),
    noiseDistance: round(noiseDistance, 4),
    realDistance: round(realDistance, 4),
    generatorTrainSeconds: round(mean(runs.map((r) => r.trainSeconds)), 0),
    generatorSteps: round(mean(runs.map((r) => r.steps)), 0),
    imagesPerSecond: round(mean(runs.map((r) => r.imagesPerSecond)), 1),
    flaggedFraction: round(mean(runs.map((r) => r.flagged)), 3),
    goal: { fidelity: 0.6, fidelityMet: mean(fid) >= 0.6, realismMet: mean(runs.map((r) => r.realism)) < noiseDistance / 4 },
    ...(baselines ?? {}),
    seeds: runs.map((r) => ({
      seed: r.seed, fidelity: round(r.fidelity.fidelity, 3), foregroundFidelity: round(r.fidelity.foregroundFidelity, 3), studentMiou: round(100 * r.fidelity.studentMiou, 1), realismDistance: round(r.realism, 4),
      histogramDistance: round(r.histogram, 3), generatorSteps: r.steps, generatorTrainSeconds: round(r.trainSeconds, 0), finalLoss: round(r.loss, 4),
      labelledFraction: round(r.fidelity.labelledFraction, 3), flaggedFraction: round(r.flagged, 3),
      studentIou: r.fidelity.studentIou.map((v) => (v === null ? null : round(100 * v, 1))),
    })),
    teacherIou: runs[0].fidelity.teacherIou.map((v) => (v === null ? null : round(100 * v, 1))),
    classes: ['background', ...CLASSES],
    site: { trainImages: site.train.length, testImages: site.test.length, inputSize: SEGMENTER.inputSize, generatedImages: count },
    generator: { config, training, samplingSteps: REPLAY_SAMPLING_STEPS },
    student,
    confidenceThreshold: o.confidence,
    grid: gridFile,
    machine: { cores: cpus().length, loadAverageAtStart: round(load0, 2), loadAverageAtEnd: round(loadavg()[0], 2) },
    seconds: round((Date.now() - t0) / 1000, 0),
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  process.stdout.write(text);
  if (o.json) {
    mkdirSync(dirname(resolve(o.json)), { recursive: true });
    writeFileSync(o.json, text);
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  },
);
