/**
 * `npm run bench:replay -- [--quick] [--seeds N] --json FILE`
 *
 * Replay fidelity of the diffusion generator on the demo's scenes and resolution: a teacher
 * segmenter learns the demo's step-0 classes from a site's training patients (cached: the shared
 * starting model of every run); the generator trains on the same images for a wall-clock budget;
 * a fresh student learns ONLY from generated images labelled by the teacher; both are scored on
 * held-out patients. fidelity = student mIoU / teacher mIoU. Next to it: the same student taught
 * on teacher-labelled noise (the floor; by default the samples of untrained generators, one per
 * floor seed) and, with --ceiling, on teacher-labelled real training images, and
 * the realism distance of the samples to real images with the distances of noise and of real
 * images (training vs test patients) to read it by. Writes a PNG grid of samples with the
 * teacher's labels.
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BenchUserError, runBenchCommand } from '@fedciss/ml/bench';
import {
  balancedImages, createSegmenterWeights, decodeSafetensors, diffusion, diffusionGeometry, encodeSafetensors, evaluateSegmenter, labelWithTeacher, meanIoU,
  noiseImages, paletteNoiseImages, parseDiffusionConfig, untrainedSamples, realismReport, replayFidelity, replayGeneratorConfig, REPLAY_GENERATOR_TRAINING, REPLAY_POOL_FACTOR, REPLAY_SAMPLING_STEPS, sampleImages, segmenterConfig,
  trainDiffusion, trainLocalSegmenter, privacyReport, type FidelityResult, type ModelRef, type NamedTensors, type SegImage, type SegSample, type SegmenterConfig,
} from '@fedciss/ml';
import { demoTraining, DEMO_SCHEDULE } from '../../demo/demo-profile';
import { parseArgs, USAGE } from './cli';
import { siteData } from './data';
import { labelledGrid } from './grid';
import { checkOutputFile, writeOutputFile } from '../output-file';

/** The demo's segmenter and step-0 classes. */
const SEGMENTER = segmenterConfig(demoTraining(1).segmenter as Partial<SegmenterConfig>);
const CLASSES = DEMO_SCHEDULE[0];

/** The generator's budget: quick = the 3000 steps that met the goal in the session-3 measurement
 * (about 280 CPU s single-threaded; steps, not seconds, so a loaded machine measures the same
 * generator), full = a wall-clock budget. */
const PROFILES = {
  quick: { trainSurgeries: 4, testSurgeries: 2, imagesPerSurgery: 24, teacherSteps: 1200, generatorSteps: 3000, generatorSeconds: 0, images: 96, studentSteps: 300 },
  full: { trainSurgeries: 6, testSurgeries: 2, imagesPerSurgery: 32, teacherSteps: 1500, generatorSteps: 0, generatorSeconds: 900, images: 192, studentSteps: 400 },
};

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;
const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: readonly number[]) => (v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)) : 0);

function log(msg: string): void {
  process.stderr.write(`[bench:replay ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A generator `--save-generator` wrote, with its config; a file that is not one is the user's to fix. */
function loadGenerator(file: string) {
  try {
    const saved = decodeSafetensors(readFileSync(file));
    return { file, ...saved, config: parseDiffusionConfig(JSON.parse(saved.metadata.config ?? '{}'), file) };
  } catch (e) {
    throw new BenchUserError(`--load-generator: ${file} is not a generator saved by bench:replay (${(e as Error).message})`);
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  if (o.json) checkOutputFile(o.json);
  // Saved generators bring their own config (sampling variants on trained generators): read at
  // start-up, so that a file that is not one stops the run before its teacher trains.
  const savedList = (o.loadGenerator ?? []).map(loadGenerator);
  for (const s of savedList) if (JSON.stringify(s.config) !== JSON.stringify(savedList[0].config)) throw new BenchUserError(`--load-generator: ${s.file} has another config than ${savedList[0].file}`);
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

  const config = savedList.length ? savedList[0].config : replayGeneratorConfig(SEGMENTER.inputSize, o.generator);
  const geo = diffusionGeometry(config);
  const generatorSteps = o.generatorSteps ?? (o.generatorSeconds ? 0 : p.generatorSteps);
  const training = { ...REPLAY_GENERATOR_TRAINING, seconds: o.generatorSeconds ?? p.generatorSeconds, ...o.generatorTraining };
  const count = o.images ?? p.images;
  // Sites' replay sets are chosen from REPLAY_POOL_FACTOR x their size; --pool N sets it (N = --images: no choice).
  const pool = o.pool ?? count * REPLAY_POOL_FACTOR;
  const segGeo = { channels: 3, height: SEGMENTER.inputSize[0], width: SEGMENTER.inputSize[1] };
  const realTrain = diffusion.fitImages(site.train.map((s) => s.image), segGeo, geo, 'squash');
  const realTest = diffusion.fitImages(site.test.map((s) => s.image), segGeo, geo, 'squash');
  const asImages = (stack: Float32Array): SegImage[] => diffusion.imageList(stack, geo.channels * geo.height * geo.width).map((image) => ({ image, height: geo.height, width: geo.width }));
  const student = { steps: p.studentSteps, batchSize: 8, learningRate: 1e-2 };

  const sampling = { steps: o.samplingSteps ?? REPLAY_SAMPLING_STEPS, eta: o.eta ?? 0, clip: o.clip ?? 1, spacing: o.spacing ?? 'leading' };
  const labels = o.labels;
  interface Run { seed: number; studentSeed: number; steps: number; fidelity: FidelityResult; realism: number; histogram: number; trainSeconds: number; cpuSeconds: number; imagesPerSecond: number; flagged: number; loss: number; classImages: number[] }
  const runs: Run[] = [];
  let gridSamples: SegSample[] = [];
  const gridFile = resolve(o.grid ?? (o.json ? o.json.replace(/\.json$/, '') + '-samples.png' : join(out, 'samples.png')));
  mkdirSync(dirname(gridFile), { recursive: true });
  /** The `count` images of the pool `drawn`, balanced over the classes the teacher sees in them, as
   * sites choose their replay sets; and how many of those kept show each class. */
  const pick = async (drawn: readonly SegImage[]): Promise<{ kept: SegImage[]; classImages: number[] }> => {
    const b = await balancedImages(teacher, drawn, count, { confidenceThreshold: o.confidence });
    return { kept: b.images, classImages: b.classImages };
  };
  /** Samples the generator, drops memorised samples, and scores what is left. */
  const score = async (seed: number, steps: number, emaWeights: NamedTensors, losses: readonly number[], trainSeconds: number, cpuSeconds: number): Promise<void> => {
    const s0 = Date.now();
    const drawn = pool;
    const samples = await sampleImages({ config, weights: emaWeights, count: drawn, steps: sampling.steps, eta: sampling.eta, clip: sampling.clip, spacing: sampling.spacing, seed: 1000 + seed });
    const imagesPerSecond = drawn / ((Date.now() - s0) / 1000);
    diffusion.quantise8(samples);
    // The memorisation check of replay sets: samples too close to a training image are dropped.
    const privacy = privacyReport(samples, realTrain, geo);
    const flagged = new Set(privacy.flagged.map((f) => f.sample));
    const { kept, classImages } = await pick(asImages(samples).filter((_, i) => !flagged.has(i)));
    const realism = realismReport(samples, realTest, geo);
    // The first seed's samples with the teacher's labels: at each point of a curve, and at the end.
    if (seed === o.firstSeed) {
      gridSamples = await labelWithTeacher(teacher, kept.slice(0, 16));
      if (o.evalAt.includes(steps)) writeFileSync(gridFile.replace(/\.png$/, `-step${steps}.png`), labelledGrid(gridSamples));
    }
    const loss = mean(losses.slice(-50));
    for (const studentSeed of o.studentSeeds ?? [seed]) {
      const fidelity = await replayFidelity({ teacher, teacherCounts, images: kept, test: site.test, student, seed: studentSeed, confidenceThreshold: o.confidence, labels });
      log(`seed ${seed}, student seed ${studentSeed}: ${steps} steps in ${trainSeconds.toFixed(0)} s (${cpuSeconds.toFixed(0)} CPU s, loss ${loss.toFixed(4)}), fidelity ${fidelity.fidelity.toFixed(3)} (student ${(100 * fidelity.studentMiou).toFixed(1)}, foreground ${fidelity.foregroundFidelity.toFixed(3)}), realism ${realism.frechetDistance.toFixed(4)}, ${flagged.size} flagged, images showing each class ${classImages.join('/')}`);
      runs.push({ seed, studentSeed, steps, fidelity, realism: realism.frechetDistance, histogram: realism.histogramDistance, trainSeconds, cpuSeconds, imagesPerSecond, flagged: flagged.size / drawn, loss, classImages });
    }
  };
  /** --save-generator: the EMA weights with the config and training figures (at every --eval-at
   * point too: FILE-stepN), for sampling variants on one trained generator (--load-generator). */
  const save = (seed: number, steps: number, ema: NamedTensors, losses: readonly number[], trainSeconds: number, cpuSeconds: number): void => {
    if (!o.saveGenerator) return;
    const base = o.saveGenerator.replace(/\.safetensors$/, '');
    const file = `${base}${o.seeds > 1 ? `-seed${seed}` : ''}${o.evalAt.includes(steps) ? `-step${steps}` : ''}.safetensors`;
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, encodeSafetensors(ema, {
      kind: 'generator', numClasses: '0', config: JSON.stringify(config), steps: String(steps),
      finalLoss: String(mean(losses.slice(-50))), trainSeconds: String(trainSeconds), cpuSeconds: String(cpuSeconds),
    }));
    log(`seed ${seed}: generator after ${steps} steps saved to ${file}`);
  };
  for (let seed = o.firstSeed; seed < o.firstSeed + o.seeds; seed++) {
    if (savedList.length) {
      // A saved generator's training figures come with it; each seed samples and scores anew.
      const saved = savedList.length > 1 ? savedList[seed - o.firstSeed] : savedList[0];
      const m = saved.metadata;
      log(`seed ${seed}: scoring the saved generator ${saved.file} (${m.steps} steps)`);
      await score(seed, Number(m.steps), saved.tensors, [Number(m.finalLoss)], Number(m.trainSeconds), Number(m.cpuSeconds));
      continue;
    }
    log(`seed ${seed}: training the generator ${geo.height}x${geo.width} for ${generatorSteps ? `${generatorSteps} steps` : `${training.seconds} s`}${o.evalAt.length ? `, scored after ${o.evalAt.join(', ')} steps too` : ''}`);
    const budget = generatorSteps ? { steps: generatorSteps } : training.seconds > 0 ? { maxSeconds: training.seconds } : { epochs: training.epochs };
    const losses: number[] = [];
    // Training time and CPU time without the checkpoints' scoring.
    const w0 = Date.now();
    const c0 = process.cpuUsage();
    let scoringMs = 0;
    let scoringCpu = 0;
    const cpuSince = (c: NodeJS.CpuUsage) => (process.cpuUsage(c).user + process.cpuUsage(c).system) / 1e6;
    const trained = await trainDiffusion({
      config, images: realTrain, ...budget,
      batchSize: training.batchSize, learningRate: training.learningRate, lossWeighting: training.lossWeighting, minSnrGamma: training.minSnrGamma, emaDecay: training.emaDecay, seed,
      onProgress: (q) => {
        losses.push(q.loss);
        if (q.step % 200 === 0) log(`  generator step ${q.step}, ${(q.elapsedMs / 1000).toFixed(0)} s, loss ${q.loss.toFixed(4)}`);
      },
      checkpoints: o.evalAt,
      onCheckpoint: async (step, _weights, ema) => {
        const e0 = Date.now();
        const ec = process.cpuUsage();
        save(seed, step, ema, losses, (e0 - w0 - scoringMs) / 1000, cpuSince(c0) - scoringCpu);
        await score(seed, step, ema, losses, (e0 - w0 - scoringMs) / 1000, cpuSince(c0) - scoringCpu);
        scoringMs += Date.now() - e0;
        scoringCpu += cpuSince(ec);
      },
    });
    const trainSeconds = trained.seconds - scoringMs / 1000;
    const cpuSeconds = cpuSince(c0) - scoringCpu;
    save(seed, trained.steps, trained.emaWeights, losses, trainSeconds, cpuSeconds);
    await score(seed, trained.steps, trained.emaWeights, losses, trainSeconds, cpuSeconds);
  }

  // Reading aids: the distances of noise and of real images, and the students of noise and real images.
  const noiseList = noiseImages(count, geo, 99);
  const noise = diffusion.stackImages(noiseList.map((n) => n.image));
  // The floor's images per floor seed; the untrained floor is its own fresh generator per seed (seed 1: weights 99).
  const floorImages = async (seed: number): Promise<SegImage[]> => (o.floor === 'palette' ? paletteNoiseImages(count, geo, 99, realTrain.map((image) => ({ image, height: geo.height, width: geo.width })))
    : o.floor === 'untrained' ? (await pick(await untrainedSamples(config, pool, sampling.steps, 98 + seed))).kept : noiseList);
  const noiseDistance = realismReport(noise, realTest, geo).frechetDistance;
  const realDistance = realismReport(realTrain, realTest, geo).frechetDistance;
  let baselines: Record<string, number> | undefined;
  let floorSeedFidelities: number[] = [];
  if (o.baselines) {
    // They depend only on the teacher, the images and the student's recipe: computed once, cached.
    // Student seeds 1..floorSeeds; each seed's pair is cached on its own, so more seeds add to fewer.
    const perSeed: Record<string, number>[] = [];
    // The untrained floor depends on the generator's config and the sampler too.
    const untrainedKey = o.floor === 'untrained' ? `-${createHash('sha256').update(JSON.stringify({ config, steps: sampling.steps })).digest('hex').slice(0, 8)}${pool > count ? `-pool${pool}` : ''}` : '';
    const labelKey = labels === 'soft' ? 'soft' : o.confidence;
    /** One student per seed on `images`, cached by `name` (floor and ceiling on their own). */
    const cached = async (name: string, seed: number, images: () => Promise<readonly SegImage[]>, prefix: string): Promise<Record<string, number>> => {
      const cache = teacherFile.replace(/\.safetensors$/, `-${name}-v4-${count}-${student.steps}-${labelKey}-seed${seed}.json`);
      if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as Record<string, number>;
      log(`student seed ${seed}: student of teacher-labelled ${name} (${labels} labels)`);
      const f = await replayFidelity({ teacher, teacherCounts, images: [...(await images())], test: site.test, student, seed, confidenceThreshold: o.confidence, labels });
      const b = { [`${prefix}Fidelity`]: f.fidelity, [`${prefix}ForegroundFidelity`]: f.foregroundFidelity };
      writeFileSync(cache, JSON.stringify(b));
      return b;
    };
    for (let seed = 1; seed <= o.floorSeeds; seed++) {
      perSeed.push({
        ...(await cached(`floor${o.floor === 'gaussian' ? '' : `-${o.floor}`}${untrainedKey}`, seed, () => floorImages(seed), 'noise')),
        ...(o.ceiling ? await cached('real', seed, async () => site.train, 'real') : {}),
      });
    }
    const of = (k: string) => perSeed.map((b) => b[k]);
    const keys = ['noiseFidelity', 'noiseForegroundFidelity', ...(o.ceiling ? ['realFidelity', 'realForegroundFidelity'] : [])];
    baselines = Object.fromEntries(keys.flatMap((k) => [[k, round(mean(of(k)), 3)], [`${k}Sd`, round(sd(of(k)), 3)]]));
    floorSeedFidelities = of('noiseFidelity').map((v) => round(v, 3));
  }

  writeFileSync(gridFile, labelledGrid(gridSamples));

  // The headline figures are those of each seed's last point; --eval-at points form the curve.
  const final = runs.filter((r) => !o.evalAt.includes(r.steps));
  const fid = final.map((r) => r.fidelity.fidelity);
  const cpuPerStep = mean(final.map((r) => r.cpuSeconds / r.steps));
  // Reading the fidelity by its floor and ceiling: the share of the gap between teacher-labelled
  // noise and teacher-labelled real images that the samples close (0 = no better than noise).
  const aboveNoise = (f: number, floor?: number, ceiling?: number) => (floor !== undefined && ceiling !== undefined && ceiling > floor ? round((f - floor) / (ceiling - floor), 3) : undefined);
  // Each generator's fidelity over its students (with --student-seeds), and each student against
  // the floor's student of the same seed (the floor's students are seeds 1..--floor-seeds).
  const generatorSeeds = [...new Set(final.map((r) => r.seed))];
  const perGenerator = generatorSeeds.map((seed) => round(mean(final.filter((r) => r.seed === seed).map((r) => r.fidelity.fidelity)), 3));
  const paired = final.filter((r) => r.studentSeed <= floorSeedFidelities.length).map((r) => r.fidelity.fidelity - floorSeedFidelities[r.studentSeed - 1]);
  const seedRow = (r: Run) => ({
    seed: r.seed, studentSeed: r.studentSeed, classImages: r.classImages, generatorSteps: r.steps, fidelity: round(r.fidelity.fidelity, 3), foregroundFidelity: round(r.fidelity.foregroundFidelity, 3), studentMiou: round(100 * r.fidelity.studentMiou, 1), realismDistance: round(r.realism, 4),
    histogramDistance: round(r.histogram, 3), generatorTrainSeconds: round(r.trainSeconds, 0), generatorCpuSeconds: round(r.cpuSeconds, 0), finalLoss: round(r.loss, 4),
    labelledFraction: round(r.fidelity.labelledFraction, 3), flaggedFraction: round(r.flagged, 3),
    studentIou: r.fidelity.studentIou.map((v) => (v === null ? null : round(100 * v, 1))),
  });
  const report = {
    benchmark: 'replay',
    profile: o.quick ? 'quick' : 'full',
    teacherMiou: round(100 * final[0].fidelity.teacherMiou, 1),
    studentMiou: round(100 * mean(final.map((r) => r.fidelity.studentMiou)), 1),
    fidelity: round(mean(fid), 3),
    fidelitySd: round(sd(fid), 3),
    // Over generator seeds, each the mean of its students (equal to the above with one student each).
    fidelityPerGenerator: perGenerator,
    fidelityPerGeneratorSd: round(sd(perGenerator), 3),
    // Student by student against the floor's student of the same seed: mean, sd, lowest.
    fidelityOverFloorPaired: paired.length ? { mean: round(mean(paired), 3), sd: round(sd(paired), 3), min: round(Math.min(...paired), 3), n: paired.length } : undefined,
    foregroundFidelity: round(mean(final.map((r) => r.fidelity.foregroundFidelity)), 3),
    foregroundFidelitySd: round(sd(final.map((r) => r.fidelity.foregroundFidelity)), 3),
    fidelityAboveNoise: aboveNoise(mean(fid), baselines?.noiseFidelity, baselines?.realFidelity),
    foregroundFidelityAboveNoise: aboveNoise(mean(final.map((r) => r.fidelity.foregroundFidelity)), baselines?.noiseForegroundFidelity, baselines?.realForegroundFidelity),
    realismDistance: round(mean(final.map((r) => r.realism)), 4),
    noiseDistance: round(noiseDistance, 4),
    realDistance: round(realDistance, 4),
    generatorTrainSeconds: round(mean(final.map((r) => r.trainSeconds)), 0),
    generatorSteps: round(mean(final.map((r) => r.steps)), 0),
    // CPU seconds (all threads) per generator step: on a machine to itself, 2 cores give at most
    // 120 CPU seconds a minute, so these are the steps a wall-clock budget buys there at best.
    generatorCpuSecondsPerStep: round(cpuPerStep, 3),
    generatorStepsInBudget: Object.fromEntries([15, 30, 60].map((m) => [`${m}min2cores`, Math.floor((m * 60 * cpus().length) / cpuPerStep)])),
    imagesPerSecond: round(mean(final.map((r) => r.imagesPerSecond)), 1),
    flaggedFraction: round(mean(final.map((r) => r.flagged)), 3),
    goal: { fidelity: 0.6, fidelityMet: mean(fid) >= 0.6, realismMet: mean(final.map((r) => r.realism)) < noiseDistance / 4, aboveNoise: baselines ? mean(fid) > baselines.noiseFidelity : undefined,
      // Above the floor by more than the floor's own spread over student seeds (needs --floor-seeds > 1).
      aboveNoiseSpread: baselines && o.floorSeeds > 1 ? mean(fid) - baselines.noiseFidelity > baselines.noiseFidelitySd : undefined,
      // Every generator seed above every floor seed: the claim that holds across seeds, not on average.
      everySeedAboveFloor: baselines ? Math.min(...fid) > Math.max(...floorSeedFidelities) : undefined,
      foregroundAboveNoise: baselines ? mean(final.map((r) => r.fidelity.foregroundFidelity)) > baselines.noiseForegroundFidelity : undefined },
    ...(baselines ?? {}),
    fidelityOverFloor: baselines ? round(mean(fid) - baselines.noiseFidelity, 3) : undefined,
    floorSeedFidelities: baselines ? floorSeedFidelities : undefined,
    seeds: final.map(seedRow),
    curve: o.evalAt.length
      ? [...new Set(runs.map((r) => r.steps))].sort((x, y) => x - y).map((steps) => {
          const at = runs.filter((r) => r.steps === steps);
          const f = at.map((r) => r.fidelity.fidelity);
          const fg = at.map((r) => r.fidelity.foregroundFidelity);
          return { generatorSteps: steps, seeds: at.length, fidelity: round(mean(f), 3), fidelitySd: round(sd(f), 3), foregroundFidelity: round(mean(fg), 3), foregroundFidelitySd: round(sd(fg), 3), realismDistance: round(mean(at.map((r) => r.realism)), 4), generatorCpuSeconds: round(mean(at.map((r) => r.cpuSeconds)), 0), perSeed: at.map(seedRow) };
        })
      : undefined,
    teacherIou: final[0].fidelity.teacherIou.map((v) => (v === null ? null : round(100 * v, 1))),
    classes: ['background', ...CLASSES],
    site: { trainImages: site.train.length, testImages: site.test.length, inputSize: SEGMENTER.inputSize, generatedImages: count, pool },
    generator: { config, training, steps: savedList.length ? undefined : generatorSteps || undefined, samplingSteps: sampling.steps, eta: sampling.eta, clip: sampling.clip, spacing: sampling.spacing, loadedFrom: o.loadGenerator },
    labels,
    floor: o.floor,
    floorSeeds: o.baselines ? o.floorSeeds : 0,
    student,
    confidenceThreshold: o.confidence,
    grid: gridFile,
    machine: { cores: cpus().length, loadAverageAtStart: round(load0, 2), loadAverageAtEnd: round(loadavg()[0], 2) },
    seconds: round((Date.now() - t0) / 1000, 0),
  };
  const text = `${JSON.stringify(report, null, 2)}\n`;
  process.stdout.write(text);
  if (o.json) writeOutputFile(o.json, text);
  return 0;
}

runBenchCommand('replay', main);
