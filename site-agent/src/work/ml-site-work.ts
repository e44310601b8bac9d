/**
 * The learning work of a site, on the ml library: local incremental training of the segmenter
 * (real images of the step + teacher-labelled diffusion replay, with distillation and contrastive
 * losses), local training of the diffusion generator, and evaluation on the site's test patients.
 * What it returns is weights and counts; images stay in this process.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  balancedImages, checkGeneratedImages, classCountOf, decodeSafetensors, diffusion, diffusionGeometry, encodeSafetensors, ensureReplaySet, evaluateSegmenter, classCounts,
  oldClassShare, replayCheck, replayKey, untrainedSamples, REPLAY_GENERATOR_TRAINING, REPLAY_NOISE_MARGIN, REPLAY_POOL_FACTOR, REPLAY_SAMPLING_STEPS, sampleImages, parseDiffusionConfig, parseSegmenterConfig, segmenterLabeller, trainDiffusion, trainLocalSegmenter,
  type DiffusionConfig, type ModelRef, type NamedTensors, type RosterEntry, type RuntimeOptions, type SegSample, type SegmenterConfig,
} from '@fedciss/ml';
import { ReplaySkipReason, type EvaluationReport, type ReplayCheck, type Task } from '@fedciss/proto';
import type { AgentConfig } from '../config/agent-config';
import type { AgentLog } from '../agent/log';
import type { ModelFetcher, SiteWork, TrainedUpdate, WithheldUpdate } from '../agent/run-loop';
import { MEMORISATION_RETRAINS, memorisationGate } from '../privacy/memorisation-gate';
import { privatiseUpdate } from '../privacy/dp-update';
import type { ProgressSink } from '../agent/progress';
import { progressOf } from '../agent/progress';
import { replaySkipReason } from './replay-decision';
import { SiteData } from './site-data';
import { localTrainHyperOf, segmenterArchitectureOf } from './task-contract';
import { textSeed } from '../synthetic/prng';

/** The replay check's figures about the generator (the rest of ReplayCheck is about the step's own images). */
type FidelityCheck = Omit<ReplayCheck, 'oldClassShare' | 'skipReason'>;

interface Loaded {
  weights: NamedTensors;
  /** The architecture stored with the weights (safetensors metadata `config`, JSON), unparsed. */
  config: unknown;
  where: string;
}

/** A version's weights and the architecture stored with them. */
async function load(fetch: ModelFetcher, ref: Task['globalModel']): Promise<Loaded> {
  const { tensors, metadata } = decodeSafetensors(await fetch(ref));
  const where = `model ${ref?.versionId}`;
  try {
    return { weights: tensors, config: metadata.config ? JSON.parse(metadata.config) : {}, where };
  } catch (e) {
    throw new Error(`${where}: its config metadata is not JSON (${(e as Error).message})`);
  }
}

/** A segmenter file's own architecture, which must be the one the task states. */
function segmenterOf(model: Loaded, expected?: SegmenterConfig): SegmenterConfig {
  const own = parseSegmenterConfig(model.config, model.where);
  if (expected && JSON.stringify(own) !== JSON.stringify(expected)) {
    throw new Error(`${model.where} is a segmenter ${JSON.stringify(own)}, the task states ${JSON.stringify(expected)}`);
  }
  return own;
}

function rosterOf(task: Task): RosterEntry[] {
  return task.roster.filter((c) => c.id !== 0).map((c) => ({ id: c.id, name: c.name }));
}

export class MlSiteWork implements SiteWork {
  private readonly data: SiteData;
  private readonly runtime: RuntimeOptions;

  constructor(private readonly config: AgentConfig, private readonly log: AgentLog) {
    this.data = new SiteData(config, (report) => {
      // Structures the roster does not have yet are expected to be skipped; anything else is a problem with the data.
      const problems = report.skipped.filter((s) => s.reason !== 'not-in-roster');
      if (problems.length) log('warn', 'files skipped while reading the dataset', { skipped: problems.length, examples: problems.slice(0, 5).map((s) => `${s.path}: ${s.message}`) });
    });
    this.runtime = { executionProvider: config.executionProvider, trainingExecutionProvider: config.trainingExecutionProvider, threads: config.threads, log: (m) => log('warn', m) };
  }

  /** The same seed for the same step, round and site, so a rerun trains the same way. */
  private seed(task: Task): number {
    return this.siteSeed(`${task.step}:${task.roundIndex}`);
  }

  /** The replay set's sampling seed: one set a step (kept for its rounds), each site its own. With
   * one seed for every site, the sites of a federation drew the same images from the same global
   * generator, and the federation replayed one site's worth of images. */
  private replaySeed(task: Task): number {
    return this.siteSeed(`replay:${task.step}`);
  }

  private siteSeed(base: string): number {
    const named = `${base}:${this.config.siteName}`;
    return textSeed(this.config.trainingSeed === undefined ? named : `${named}:${this.config.trainingSeed}`);
  }

  private size(c: SegmenterConfig) {
    return { height: c.inputSize[0], width: c.inputSize[1] };
  }

  async trainSegmenter(task: Task, fetch: ModelFetcher, sink: ProgressSink): Promise<TrainedUpdate> {
    const hp = task.hyperParameters!;
    const hyper = localTrainHyperOf(task);
    const global = await load(fetch, task.globalModel);
    const config = segmenterOf(global, segmenterArchitectureOf(task));
    const numClasses = classCountOf(global.weights);
    const teacher = task.teacherModel ? await load(fetch, task.teacherModel) : undefined;
    const teacherClasses = teacher ? classCountOf(teacher.weights) : 0;
    const real = await this.data.training(rosterOf(task), task.newClassIds, task.step, this.size(config));
    if (!real.length) throw new Error(`no training images for step ${task.step} (surgeries ${this.data.trainSurgeries(task.step).join(', ') || 'none'})`);
    let replay: SegSample[] | undefined;
    let check: ReplayCheck | undefined;
    if (teacher && task.generator && hp.replayImages > 0) {
      const teacherRef = { config, weights: teacher.weights, numClasses: teacherClasses };
      const set = await this.replaySet(task, fetch, teacherRef, real);
      replay = set.samples;
      if (hp.replayCheck) {
        const measured = await this.replayCheck(task, teacherRef, set, hp.replayFidelityThreshold);
        // One teacher pass over the step's images (what pseudo-labels will keep of the old classes).
        const share = await oldClassShare({ ...teacherRef, runtime: this.runtime }, real, { threshold: hp.pseudoLabelThreshold });
        const skipReason = replaySkipReason(measured.skipped, share, hp.replayBelowOldClassShare);
        check = { ...measured, oldClassShare: share, skipReason, skipped: skipReason !== ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED };
        if (skipReason === ReplaySkipReason.REPLAY_SKIP_REASON_LOW_FIDELITY) {
          this.log('warn', 'replay skipped: the generator does not teach the old classes better than noise', { fidelity: check.fidelity, noiseFidelity: check.noiseFidelity, margin: check.margin, threshold: hp.replayFidelityThreshold, step: task.step });
        } else if (skipReason === ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN) {
          this.log('info', 'replay skipped: this step\'s images already show the old classes', { oldClassShare: share, threshold: hp.replayBelowOldClassShare, step: task.step });
        }
        if (check.skipped) replay = undefined;
      }
    }
    const progress = progressOf('train', this.log, sink);
    const result = await trainLocalSegmenter({
      config,
      weights: global.weights,
      numClasses,
      teacher: teacher ? { weights: teacher.weights, numClasses: teacherClasses } : undefined,
      newClassIds: task.newClassIds,
      real,
      replay,
      hyper,
      seed: this.seed(task),
      runtime: this.runtime,
      onProgress: (p) => progress.update(p.step / p.totalSteps, p.losses),
    });
    progress.done();
    const last = result.metrics.epochLosses.at(-1) ?? {};
    const leaving = leavingWeights(global.weights, result.weights, hp);
    return {
      blob: encodeSafetensors(leaving.weights, { kind: 'segmenter', numClasses: String(numClasses), config: JSON.stringify(config) }),
      samples: { realImages: result.metrics.realSamples, replayImages: result.metrics.replaySamples, labelledPixels: 0 },
      metrics: { ...last, msPerStep: result.metrics.msPerStep },
      unclippedIndicator: leaving.unclippedIndicator,
      replayCheck: check,
    };
  }

  /**
   * Whether this step's replay set teaches the old classes better than noise, measured once per
   * set (kept next to it): a fresh segmenter trained only on the replay images, and the same one
   * (recipe, seed) trained on as many teacher-labelled samples of the same generator with fresh,
   * untrained weights (the noise it makes before learning anything), are scored against the
   * teacher on this site's held-out patients, with labels of the teacher's classes only (later
   * classes are background to it). The site's test patients serve, as sites have no separate
   * validation split. Costs two short students per site and step (ml replay/check.ts).
   */
  private async replayCheck(task: Task, teacher: ModelRef, set: { samples: SegSample[]; key: string; dir: string; config: DiffusionConfig }, threshold: number): Promise<FidelityCheck> {
    const file = join(set.dir, 'replay-check.json');
    const key = `${set.key}:${threshold}:${REPLAY_NOISE_MARGIN}:${SITE_CHECK_LABELS}:untrained-pool${REPLAY_POOL_FACTOR}`;
    if (existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: string; check: FidelityCheck };
      if (saved.key === key) return saved.check;
    }
    const oldRoster = rosterOf(task).filter((c) => c.id < teacher.numClasses);
    const heldOut = await this.data.test(oldRoster, this.size(teacher.config));
    const progress = progressOf('replay-check', this.log);
    progress.update(0);
    // The floor's images are chosen as the replay set's were: balanced from a pool as large.
    const untrained = await untrainedSamples(set.config, set.samples.length * REPLAY_POOL_FACTOR, REPLAY_SAMPLING_STEPS, this.seed(task), this.runtime);
    const floor = (await balancedImages(teacher, untrained, set.samples.length, { confidenceThreshold: task.hyperParameters!.pseudoLabelThreshold, runtime: this.runtime })).images;
    const c = await replayCheck({ teacher: { ...teacher, runtime: this.runtime }, images: set.samples, floor, test: heldOut, student: SITE_STUDENT, labels: SITE_CHECK_LABELS, threshold, seed: this.seed(task), runtime: this.runtime });
    progress.done();
    const check: FidelityCheck = {
      fidelity: c.generator.fidelity, noiseFidelity: c.noise.fidelity, foregroundFidelity: c.generator.foregroundFidelity, noiseForegroundFidelity: c.noise.foregroundFidelity,
      teacherMiou: c.generator.teacherMiou, studentMiou: c.generator.studentMiou, noiseStudentMiou: c.noise.studentMiou, margin: c.margin, skipped: c.skip, noiseSeconds: c.noiseSeconds,
    };
    this.log('info', 'replay check', { step: task.step, ...check, reason: c.reason, heldOutImages: heldOut.length });
    writeFileSync(file, JSON.stringify({ key, check }));
    return check;
  }

  /** Synthetic images from the previous step's generator, labelled by the teacher; kept on disk for the step's rounds. */
  private async replaySet(task: Task, fetch: ModelFetcher, teacher: { config: SegmenterConfig; weights: NamedTensors; numClasses: number }, real: SegSample[]): Promise<{ samples: SegSample[]; key: string; dir: string; config: DiffusionConfig }> {
    const hp = task.hyperParameters!;
    const gen = await load(fetch, task.generator);
    const genConfig = parseDiffusionConfig(gen.config, gen.where);
    const geo = diffusionGeometry(genConfig);
    const labeller = segmenterLabeller({ config: teacher.config, weights: teacher.weights, numClasses: teacher.numClasses, runtime: this.runtime });
    const progress = progressOf('replay', this.log);
    try {
      // Chosen from a larger pool, balanced over the classes the teacher sees (ml replay/balance.ts).
      const pool = hp.replayImages * REPLAY_POOL_FACTOR;
      const seed = this.replaySeed(task);
      const key = replayKey({ step: task.step, teacherId: task.teacherModel!.versionId, generatorWeights: gen.weights, count: hp.replayImages, pool, samplingSteps: REPLAY_SAMPLING_STEPS, seed, confidenceThreshold: hp.pseudoLabelThreshold });
      const dir = join(this.config.workDir, 'replay', `step-${task.step}`);
      const set = await ensureReplaySet({
        dir,
        key,
        step: task.step,
        config: genConfig,
        weights: gen.weights,
        count: hp.replayImages,
        pool,
        labeller,
        confidenceThreshold: hp.pseudoLabelThreshold,
        samplingSteps: REPLAY_SAMPLING_STEPS,
        seed,
        trainingImages: diffusion.fitImages(real.map((s) => s.image), { channels: 3, height: real[0].height, width: real[0].width }, geo, 'squash'),
        runtime: this.runtime,
        onProgress: (p) => progress.update(p.done / Math.max(1, p.total)),
      });
      for (const w of set.manifest.checks?.privacy.warnings ?? []) this.log('warn', 'replay privacy check', { warning: w });
      const per = geo.channels * geo.height * geo.width;
      const count = set.labels.length / (geo.height * geo.width);
      const samples = Array.from({ length: count }, (_, i) => ({
        image: Float32Array.from(set.images.subarray(i * per, (i + 1) * per)),
        label: set.labels.subarray(i * geo.height * geo.width, (i + 1) * geo.height * geo.width),
        height: geo.height,
        width: geo.width,
      }));
      return { samples, key, dir, config: genConfig };
    } finally {
      progress.done();
      await labeller.release();
    }
  }

  async trainGenerator(task: Task, fetch: ModelFetcher, sink: ProgressSink): Promise<TrainedUpdate | WithheldUpdate> {
    const hp = task.hyperParameters!;
    const gen = await load(fetch, task.globalModel);
    const config = parseDiffusionConfig(gen.config, gen.where);
    const geo = diffusionGeometry(config);
    const size = { width: geo.width, height: geo.height };
    // Every class of the roster: the labels do not matter here, only the images.
    const real = await this.data.training(rosterOf(task), [], task.step, size);
    if (!real.length) throw new Error(`no training images for the generator at step ${task.step}`);
    const images = real.map((s) => s.image);
    // Before the weights leave: does the generator reproduce any of this site's patient images? If
    // so, train again from the global model with another seed; if that memorises too, withhold.
    for (let attempt = 0; ; attempt++) {
      const seed = this.seed(task) + attempt * 7919;
      const progress = progressOf('generator', this.log, sink);
      const result = await trainDiffusion({
        config,
        weights: gen.weights,
        images,
        // A round is sized by a wall-clock budget (the generator keeps learning across rounds and
        // steps from the global weights), or by passes over the images when no budget is set.
        ...(hp.generatorSeconds > 0 ? { maxSeconds: hp.generatorSeconds } : { epochs: hp.localEpochs }),
        batchSize: hp.batchSize,
        learningRate: hp.learningRate,
        lossWeighting: REPLAY_GENERATOR_TRAINING.lossWeighting,
        minSnrGamma: REPLAY_GENERATOR_TRAINING.minSnrGamma,
        emaDecay: REPLAY_GENERATOR_TRAINING.emaDecay,
        seed,
        runtime: this.runtime,
        onProgress: (p) => progress.update(p.budgetMs ? Math.min(1, p.elapsedMs / p.budgetMs) : p.step / p.steps, { loss: p.loss }),
      });
      progress.done();
      // The check looks at what would leave: the weights after clipping and noise, when asked for.
      const leaving = leavingWeights(gen.weights, result.emaWeights, hp);
      const samples = await sampleImages({ config, weights: leaving.weights, count: 8, steps: REPLAY_SAMPLING_STEPS, seed: seed + 1, runtime: this.runtime });
      const checks = checkGeneratedImages(samples, images, geo, this.config.memorisationCheck);
      const gate = memorisationGate(checks.privacy);
      const metrics = {
        loss: result.losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, result.losses.length),
        msPerStep: result.stepMs,
        steps: result.steps,
        realismFrechet: checks.realism.frechetDistance,
        ...gate.metrics,
      };
      if (gate.pass) {
        return {
          blob: encodeSafetensors(leaving.weights, { kind: 'generator', numClasses: '0', config: JSON.stringify(config) }),
          samples: { realImages: images.length, replayImages: 0, labelledPixels: 0 },
          metrics,
          unclippedIndicator: leaving.unclippedIndicator,
        };
      }
      this.log('warn', 'generator privacy check failed', { attempt, reason: gate.reason });
      if (attempt >= MEMORISATION_RETRAINS) return { withheld: true, reason: `${gate.reason} (after ${attempt + 1} trainings)`, metrics };
    }
  }

  async evaluate(task: Task, fetch: ModelFetcher, sink: ProgressSink): Promise<EvaluationReport> {
    const model = await load(fetch, task.globalModel);
    // The file's own architecture: offline evaluation (site-agent evaluate) has no task to state one.
    const config = segmenterOf(model);
    const numClasses = classCountOf(model.weights);
    const test = await this.data.test(rosterOf(task), this.config.evaluationSize ?? this.size(config));
    sink('evaluate', 0, {});
    const cm = await evaluateSegmenter({ config, weights: model.weights, numClasses, runtime: this.runtime }, test);
    sink('evaluate', 1, {});
    return {
      modelVersionId: task.globalModel!.versionId,
      roundId: task.roundId,
      images: test.length,
      split: 'test',
      evaluatedSiteModel: '',
      classes: classCounts(cm).map((c, classId) => ({ classId, truePositive: c.tp, falsePositive: c.fp, falseNegative: c.fn })),
    };
  }
}

/** The student of the site's replay check: short (it runs once per step), the local optimizer. */
const SITE_STUDENT = { steps: 200, batchSize: 8, learningRate: 1e-2 };
/** The check's students distil the teacher's soft outputs, as local training does with replay
 * images (its kd term): in bench:replay that separated a 3000-step generator from noise
 * consistently over seeds, where hard confident labels left both within the generated students'
 * spread (issue 17's note). */
const SITE_CHECK_LABELS = 'soft';

/**
 * What leaves the site: the trained weights, or, when the task asks for differential privacy, the
 * global model plus the clipped, noised delta (and, under adaptive clipping, the noisy bit of whether
 * the delta was within the bound). The delta's exact norm is not sent: it would give the bit away.
 */
function leavingWeights(global: NamedTensors, trained: NamedTensors, hp: NonNullable<Task['hyperParameters']>): { weights: NamedTensors; unclippedIndicator?: number } {
  const dp = hp.differentialPrivacy;
  if (!dp) return { weights: trained };
  const p = privatiseUpdate(global, trained, { clipNorm: dp.clipNorm, noiseStddev: dp.noiseStddev, countNoiseStddev: dp.countNoiseStddev });
  return { weights: p.weights, unclippedIndicator: p.unclippedIndicator };
}
