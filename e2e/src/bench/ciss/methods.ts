/**
 * The methods the benchmark compares, each a combination of the coordinator's training settings
 * (TrainingSettings: loss weights forwarded to the sites' trainLocalSegmenter, replay, server-side
 * distillation) and round counts, and the two profiles (quick, default). Pure data and functions.
 *
 * Loss weights (ml/src/incremental/train.ts LossWeights): ce = cross-entropy on the step's labels
 * (pseudo-labelled where `pseudoLabels` is 1), unbiasedCe = MiB's unbiased cross-entropy, replayCe =
 * cross-entropy on the teacher's labels of the replay images, kd =
 * MiB's unbiased output distillation, pod = POD feature distillation, contrastive = cross-image pixel
 * contrastive loss; `pseudoLabels` (1/0) is a switch the site agent takes out of the weights.
 * Teacher losses (unbiasedCe, kd, pod) only act from step 1 on (there is no teacher at step 0).
 */

import { replayGeneratorConfig, REPLAY_GENERATOR_TRAINING } from '@fedciss/ml';
import { deepMerge } from './plain-object';

export interface Profile {
  name: 'quick' | 'default';
  sites: number;
  imagesPerSurgery: number;
  trainSurgeriesPerStep: number;
  testSurgeries: number;
  /** Size of the generated DSAD-layout images; evaluation scores at this (label) resolution. */
  imageSize: { width: number; height: number };
  /** How the generated scenes are annotated: a fraction fully (multilabel), the rest for one
   * structure each (DSAD-like dispersed annotations). */
  annotations: { multilabelFraction: number; structureFolders: 'every-folder' | 'one-folder' };
  segmenterRounds: number;
  generatorRounds: number;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  replayImages: number;
  serverDistillSteps: number;
  pseudoLabelThreshold: number;
  segmenter: Record<string, unknown>;
  generator: Record<string, unknown>;
  /** Generator rounds sized by a wall-clock budget per site (`seconds`), epochs when it is 0. */
  generatorTraining: { epochs: number; batchSize: number; learningRate: number; seconds: number };
  /** A generator pretrained on public scenes (`npm run pretrain:generator -- --for ciss-PROFILE`),
   * imported before step 0 so that step 0's generator rounds fine-tune it; null: fresh weights. */
  generatorStart: string | null;
  /** Longest a step may take before the run of a method is given up. */
  stepTimeoutMs: number;
  /** Coordinator training settings (training.json keys, e.g. warmupFraction, lossWeights.kd) laid
   * over every method's own, key by key: what `--set training.KEY=JSON` varies. Empty in both
   * profiles (the methods' settings and the coordinator's defaults). */
  training: Record<string, unknown>;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  quick: {
    name: 'quick',
    sites: 2,
    // 40 images a surgery: more images cost no optimizer steps (those are fixed below) and lift the
    // upper bound. With 10, joint (the upper bound) spread 23.4-38.8 all-class mIoU over seeds 1-3
    // (32.2 ± 7.9); with 20 it reached 39.4 ± 1.8 on overlapped scenes (fourth session) but 35.0 ± 4.3
    // on disjoint ones, where the old organs appear only in step 0's surgeries; with 40, 40.1 ± 6.7
    // there (issue 18's notes, seventeenth session).
    imagesPerSurgery: 40,
    trainSurgeriesPerStep: 2,
    testSurgeries: 2,
    imageSize: { width: 80, height: 64 },
    annotations: { multilabelFraction: 0.5, structureFolders: 'one-folder' },
    // Six rounds of ~250 local steps rather than two of 750: averaging two sites' models that trained
    // 750 steps apart lost what each had learnt (seed 3 joint, round 0: site models 31.0 and 29.1
    // all-class mIoU, their average 20.7). Same 1494 steps a step; joint +2.7 all on each of seeds
    // 1-3, MiB and ours +5 new on seed 1 (issue 18's notes, fourth session).
    segmenterRounds: 6,
    // The generator trains by steps, not seconds, so a loaded machine trains the same generator: 100
    // passes over a site's 80 images (500 steps of 16) a round, 4 rounds, so FedAvg averages two
    // sites' generators 500 steps apart rather than one 2000 steps apart. 60 s (one round, the
    // earlier budget) left it near noise. Sites' replay check (seventh session's notes): 4 x 250
    // passes 0.45 / 0.57 against noise's 0.31 / 0.32 (seed 1); 4 x 500 0.43 ± 0.04 against 0.32 ± 0.09
    // over seeds 1-3: more steps do not lift it; a 32x40 generator did (0.63, seed 1, 2.4x step 0's time).
    // 150 passes rather than 250 took step 0 from 507 s to 300 s a seed and ours kept what it had
    // (eighteenth session); 100 rather than 150 take it from 365 s to 250 s, the gated methods x 3
    // seeds from about 46 to 39 minutes, and ours moved old -0.9 ± 1.2, new +0.7 ± 0.4, all -0.2 ± 0.9
    // over seeds 1-3 at fidelity 0.52 ± 0.08 against 0.58 ± 0.02 (issue 18's notes, thirty-third session).
    generatorRounds: 4,
    // 80 images per site and step, batch 8: 10 steps per epoch, 250 local steps per round, 1500 per
    // step (replay shares the batch, it adds no steps); joint (160 images) 3000. At 90 steps a step no
    // method, joint included, learned any step-1 class; at 450 joint reached 23 ± 4 all-class mIoU. A
    // central run of this network at 32x40 gains little past ~1750 steps (41 mIoU), and the engine's
    // step is as fast as PyTorch's on a quiet machine, so ~1500 is what the 45-minute budget for the
    // gated methods x 3 seeds holds on 2 quiet cores.
    localEpochs: 25,
    batchSize: 8,
    learningRate: 3e-3,
    replayImages: 16,
    serverDistillSteps: 10,
    pseudoLabelThreshold: 0.7,
    // The issue's reference network (16-32-64-128) at half the images' size (4x cheaper steps);
    // evaluation upsamples its logits to the labels' 64x80.
    segmenter: { width: 16, depth: 3, inputSize: [32, 40], embedDim: 16, groups: 4 },
    // The replay recipe (ml/src/diffusion/recipe.ts) at the segmenter's input size, 32x40: its sites
    // measure fidelity 0.54-0.78 (the goal is 0.6), where the former 16x20 one measured 0.36-0.51 and
    // its replay cost the new classes 3.0 ± 1.4 on disjoint scenes; the 32x40 one gave +1.9 ± 0.7 all
    // there (issue 18's notes, tenth session). It makes step 0 about 2.4x as long (767 s, was 326 s).
    generator: { ...replayGeneratorConfig([64, 80]) },
    generatorTraining: { epochs: 100, seconds: 0, batchSize: REPLAY_GENERATOR_TRAINING.batchSize, learningRate: REPLAY_GENERATOR_TRAINING.learningRate },
    generatorStart: null,
    stepTimeoutMs: 2_400_000,
    training: {},
  },
  default: {
    name: 'default',
    sites: 2,
    // 40 images a surgery, as the quick profile (more images cost no optimizer steps and lifted joint
    // there).
    imagesPerSurgery: 40,
    trainSurgeriesPerStep: 2,
    testSurgeries: 2,
    imageSize: { width: 160, height: 128 },
    annotations: { multilabelFraction: 0.5, structureFolders: 'one-folder' },
    segmenterRounds: 4,
    // The coordinator's default count: four rounds (a single long one averages generators trained
    // far apart into a field of one colour; ml's REPLAY_GENERATOR_TRAINING).
    generatorRounds: 4,
    // 80 images per site and step, batch 8: 10 steps per epoch, 400 local steps per round, 1600 a step
    // (the quick profile's 1500). A step at 64x80 takes about 120 ms on one core, so step 0's four
    // generator rounds (about 218 s each at 64x80) still take most of a seed's time.
    localEpochs: 40,
    batchSize: 8,
    learningRate: 2e-3,
    replayImages: 32,
    serverDistillSteps: 40,
    pseudoLabelThreshold: 0.7,
    segmenter: { width: 16, depth: 3, inputSize: [64, 80], embedDim: 16, groups: 4 },
    // The generator at the network's own 64x80, as the quick profile's at its 32x40 (the recipe's
    // half of 128x160). At half the network's size (32x40) 5 of 6 sites measured replay fidelity
    // 0.46 ± 0.05, under the 0.5 threshold, and skipped replay (issue 18's notes, nineteenth
    // session). A step at 64x80 costs about 4x one at 32x40: in four rounds of 150 s it made a
    // quarter as many steps, and both sites of seed 1 measured 0.43-0.44 (twentieth session). By
    // steps, as the quick profile: 150 passes over a site's images a round (5180 steps over both
    // sites' four rounds on seed 1, about 650 a site and round; the quick profile makes 100).
    generator: { ...replayGeneratorConfig([128, 160]) },
    generatorTraining: { epochs: 150, seconds: 0, batchSize: REPLAY_GENERATOR_TRAINING.batchSize, learningRate: REPLAY_GENERATOR_TRAINING.learningRate },
    generatorStart: null,
    stepTimeoutMs: 2_400_000,
    training: {},
  },
};

export interface LossSet {
  ce: number;
  unbiasedCe: number;
  separatedCe: number;
  replayCe: number;
  kd: number;
  pod: number;
  contrastive: number;
  dice: number;
  pseudoLabels: 0 | 1;
}

export interface MethodSpec {
  id: string;
  label: string;
  /** One line for the report: what the method is made of. */
  recipe: string;
  /** One step with every class on every training patient (the offline upper bound). */
  joint?: boolean;
  /** Each training patient annotated for its own step's classes only (run.ts TrainingLabels): with
   * `joint`, offline training on exactly the labels the incremental methods are given. */
  ownStepLabels?: boolean;
  /** Loss weights at step t (t = 0 has no teacher). */
  losses(step: number): LossSet;
  replay: boolean;
  serverDistill: boolean;
  /** Train the diffusion generator at step 0 (replay and server-side distillation need one). */
  generator: boolean;
  /** Train it on in every later step's generator rounds (the coordinator's laterStepGeneratorRounds;
   * by default a federation keeps its step-0 generator). */
  retrainGenerator?: boolean;
  /** The coordinator's endpointFusion: the weight of a later step's start in the fusion of the
   * step's final model. Unset: 0 (off), as in the published baselines and ours. */
  endpointFusion?: number;
  /** More training settings, e.g. `privacy` (dp.ts). */
  training?: Record<string, unknown>;
}

const PLAIN: LossSet = { ce: 1, unbiasedCe: 0, separatedCe: 0, replayCe: 0, kd: 0, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 0 };
// Ours as the default recipe: pseudo-labels, KD, and diffusion replay at a quarter of each batch at
// the sites whose step images do not show the old classes (the coordinator's defaults replayFraction
// and replayBelowOldClassShare). Replay where needed: on
// overlapped scenes every site skips it and the result is ours without replay's (29.75, 24.50, 29.83
// all by seed against 29.75, 24.64, 29.98); on disjoint scenes every site replays, and a quarter of
// each batch from the 32x40 generator gave +1.9 ± 0.7 all over 3 seeds (docs/benchmarks/ciss.md). Replaying
// at every step costs the new classes where the step's images show the old ones (half: -5.0 ± 3.1 new).
// Contrastive never earned its place (ours − ablation 0.0 ± 0.1 all), nor POD (ours − ours-without-POD
// was new -2.0 ± 1.6, old -0.4 ± 0.2 over 3 seeds), nor server-side distillation (ours with it − without,
// all: -0.3 ± 0.3 and +0.2 ± 1.7 overlapped, +0.9 ± 1.2 disjoint): all three stay measurable as
// ablations (ours-plus-*). The replay images are distilled (KD), not labelled: with the teacher's labels
// in a cross-entropy of their own too (ours-plus-replay-ce) ours kept the old classes alike and learnt
// fewer new ones (issue 18's notes, twenty-eighth session). The step's own images take the separated
// cross-entropy (SS-IL): their background and new-class pixels are scored over background and the new
// classes, so nothing there pushes the old classes' logits down. With plain cross-entropy (ours until
// the forty-first session, ours-plain-ce) the final model under-rated the old classes (their logits
// raised by 0.5 after the fact: old +1.5 ± 0.5 over six seeds); separated, ours kept old +1.7 ± 0.8
// (more on every seed), new -0.9 ± 1.8, all +0.6 ± 1.1 (issue 18's notes, forty-first session).
const OURS: LossSet = { ce: 0, unbiasedCe: 0, separatedCe: 1, replayCe: 0, kd: 10, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 1 };
const OURS_PARTS = { replay: true, serverDistill: false, generator: true } as const;

const MIB: MethodSpec = {
  id: 'mib', label: 'MiB', recipe: 'step 0: CE; then unbiased CE + unbiased KD (x10), background-initialised new heads',
  // MiB's unbiased CE needs the old model; at step 0 it is plain CE (the agent has no fallback, see run.ts).
  losses: (t) => (t === 0 ? PLAIN : { ...PLAIN, ce: 0, unbiasedCe: 1, kd: 10 }),
  replay: false, serverDistill: false, generator: false,
};

export const METHODS: readonly MethodSpec[] = [
  { id: 'finetune', label: 'Fine-tuning', recipe: 'CE on the step labels only (lower bound)', losses: () => PLAIN, replay: false, serverDistill: false, generator: false },
  MIB,
  { ...MIB, id: 'mib-plus-fusion', label: 'MiB + endpoint fusion', recipe: `${MIB.recipe}; its step's final model fused with the step's start at weight 0.1 (endpointFusion)`, endpointFusion: 0.1 },
  {
    id: 'plop', label: 'PLOP-style', recipe: 'CE on teacher pseudo-labels + POD feature distillation',
    losses: () => ({ ...PLAIN, pod: 0.5, pseudoLabels: 1 }), replay: false, serverDistill: false, generator: false,
  },
  {
    id: 'ours', label: 'Ours', recipe: 'separated-softmax CE on pseudo-labels + KD (x10) + diffusion replay, distilled (a quarter of each batch, from the step-0 generator) at the sites whose step images do not show the old classes',
    losses: () => OURS, ...OURS_PARTS,
  },
  // Until the forty-first session this was `ours`: plain cross-entropy on the step's own images.
  { id: 'ours-plain-ce', label: 'Ours, plain CE', recipe: 'ours with plain cross-entropy on the step\'s own images (every class in its softmax)', losses: () => ({ ...OURS, ce: 1, separatedCe: 0 }), ...OURS_PARTS },
  // Until the tenth session this was `ours` (the earlier tables of docs/benchmarks/ciss.md).
  { id: 'ours-no-replay', label: 'Ours w/o replay', recipe: 'ours, no diffusion replay', losses: () => OURS, ...OURS_PARTS, replay: false },
  // Replay at every step whatever the step's images show (replayBelowOldClassShare 0), a half or a
  // quarter of each batch: replay takes its share from the step's real images (equal optimizer steps).
  {
    id: 'ours-plus-replay', label: 'Ours, replay always (½ batch)', recipe: 'ours, replaying half of each batch at every site and step',
    losses: () => OURS, ...OURS_PARTS, training: { replayFraction: 0.5, replayBelowOldClassShare: 0 },
  },
  {
    id: 'ours-plus-light-replay', label: 'Ours, replay always (¼ batch)', recipe: 'ours, replaying a quarter of each batch at every site and step',
    losses: () => OURS, ...OURS_PARTS, training: { replayFraction: 0.25, replayBelowOldClassShare: 0 },
  },
  // The replay check off (replayCheck false: neither the noise floor nor the old-class share
  // decides): every site replays. Measures whether the check earns its place.
  {
    id: 'ours-no-replay-check', label: 'Ours, replay check off', recipe: 'ours with the replay check off: every site replays (a quarter of each batch), whatever its generator\'s fidelity',
    losses: () => OURS, ...OURS_PARTS, training: { replayCheck: false },
  },
  // Ours until the twenty-fifth session: the generator trained on in every later step's rounds, on
  // that step's images. On 6-1 its replay fidelity fell with the steps and it kept fewer old classes
  // than the step-0 generator kept (docs/benchmarks/ciss.md), at 2.4 times ours' time.
  {
    id: 'ours-retrain-generator', label: 'Ours, generator retrained', recipe: 'ours with the generator trained on in every later step (generator rounds on the step\'s images)',
    losses: () => OURS, ...OURS_PARTS, retrainGenerator: true,
  },
  // The absolute fidelity gate that ours had until the twenty-first session: a site below fidelity
  // 0.5 skips replay, as one not above its noise floor by 0.05 does.
  {
    id: 'ours-fidelity-gate', label: 'Ours + fidelity gate', recipe: 'ours where a site whose replay fidelity is below 0.5 skips replay, as one not above its noise floor by 0.05 does',
    losses: () => OURS, ...OURS_PARTS, training: { replayFidelityThreshold: 0.5 },
  },
  {
    id: 'ours-plus-replay-ce', label: 'Ours + replay CE', recipe: 'ours with the replay images\' teacher labels in a cross-entropy of their own (x1) beside their distillation',
    losses: () => ({ ...OURS, replayCe: 1 }), ...OURS_PARTS,
  },
  { id: 'ours-plus-contrastive', label: 'Ours + contrastive', recipe: 'ours with the pixel contrastive loss (x0.1)', losses: () => ({ ...OURS, contrastive: 0.1 }), ...OURS_PARTS },
  { id: 'ours-plus-dice', label: 'Ours + Dice', recipe: 'ours with soft Dice (x1) beside the cross-entropy on the step\'s own images (its labels and the teacher\'s pseudo-labels)', losses: () => ({ ...OURS, dice: 1 }), ...OURS_PARTS },
  // Endpoint fusion gave ours nothing over six seeds (all -0.1 ± 0.6 at 0.1; MiB +1.3 ± 0.9): measured, not in the recipe.
  { id: 'ours-plus-fusion', label: 'Ours + endpoint fusion', recipe: 'ours with its step\'s final model fused with the step\'s start at weight 0.1 (endpointFusion)', losses: () => OURS, ...OURS_PARTS, endpointFusion: 0.1 },
  { id: 'ours-plus-pod', label: 'Ours + POD', recipe: 'ours with POD feature distillation (x0.5)', losses: () => ({ ...OURS, pod: 0.5 }), ...OURS_PARTS },
  {
    id: 'ours-mib-ce', label: 'Ours with MiB\'s CE', recipe: 'ours with MiB\'s unbiased CE on every labelled pixel instead of CE on teacher pseudo-labels',
    losses: () => ({ ...OURS, ce: 0, separatedCe: 0, unbiasedCe: 1, pseudoLabels: 0 }), ...OURS_PARTS,
  },
  // Until the fifteenth session ours included it (the earlier tables of docs/benchmarks/ciss.md: this method was ours, and ours was ours-no-server-distill).
  { id: 'ours-plus-server-distill', label: 'Ours + server distill.', recipe: 'ours with server-side distillation on generated images after each aggregation', losses: () => OURS, ...OURS_PARTS, serverDistill: true },
  {
    // Ours' replay images are only distilled, so without distillation they teach nothing and only take
    // their batch slots: the ablation measures distillation and the replay it carries together.
    id: 'ours-no-distill', label: 'Ours w/o distillation', recipe: 'ours, no KD, no POD (pseudo-labels kept; the replay images, only distilled in ours, then just take their share of each batch)',
    losses: () => ({ ...OURS, kd: 0, pod: 0 }), ...OURS_PARTS,
  },
  { id: 'joint', label: 'Joint (offline)', recipe: 'one step, all classes, all training patients, CE (upper bound)', joint: true, losses: () => PLAIN, replay: false, serverDistill: false, generator: false },
  // The incremental methods' own upper bound: their labels, all at once. A step-0 patient shows the
  // later steps' structures labelled background, as step 0 saw them; joint has them labelled.
  {
    id: 'joint-own-step-labels', label: 'Joint on the steps\' labels', recipe: 'one step, all classes, all training patients, CE, each patient annotated for its own step\'s classes only (the labels the incremental methods get, offline)',
    joint: true, ownStepLabels: true, losses: () => PLAIN, replay: false, serverDistill: false, generator: false,
  },
];

/** The shared step 0 every incremental method starts from (imported, so all start from the same model):
 * CE on the first step's classes, and the generator the replay methods and server distillation use. */
export const STEP0: MethodSpec = {
  id: 'step0', label: 'Step 0 (shared)', recipe: 'CE on the step-0 classes; diffusion generator trained in its generator rounds',
  losses: () => PLAIN, replay: false, serverDistill: false, generator: true,
};

export function methodById(id: string): MethodSpec {
  const m = METHODS.find((x) => x.id === id);
  if (!m) throw new Error(`unknown method '${id}' (known: ${METHODS.map((x) => x.id).join(', ')})`);
  return m;
}

/** The training settings the profile's own fields set (a method switches some off). */
function settingsFromProfile(method: MethodSpec, profile: Profile): Record<string, unknown> {
  return {
    localEpochs: profile.localEpochs,
    batchSize: profile.batchSize,
    learningRate: profile.learningRate,
    replayImages: method.replay ? profile.replayImages : 0,
    pseudoLabelThreshold: profile.pseudoLabelThreshold,
    generatorTraining: profile.generatorTraining,
    serverDistillSteps: method.serverDistill ? profile.serverDistillSteps : 0,
    segmenter: profile.segmenter,
    generator: profile.generator,
  };
}

/** Their keys: set with `--set localEpochs=4`, not `--set training.localEpochs=4` (several are the
 * method's to switch off, and the bench reads them). */
export const PROFILE_TRAINING_KEYS: readonly string[] = Object.keys(settingsFromProfile(STEP0, PROFILES.quick));

/** The coordinator's training settings file for `method` at `step`, with the profile's `training` laid over it. */
export function trainingSettings(method: MethodSpec, profile: Profile, step: number): Record<string, unknown> {
  return deepMerge({
    ...settingsFromProfile(method, profile),
    lossWeights: { ...method.losses(step) },
    aggregation: { strategy: 'fedavg' },
    // The sites score every segmenter round's aggregate: the JSON's old/new mIoU per round (table.ts roundFigures).
    evaluateEveryRound: true,
    endpointFusion: method.endpointFusion ?? 0,
    ...method.training,
  }, profile.training);
}

/** Coordinator flags for a method's run. `generatorNeeded`: a later step of this run uses the
 * generator trained in this run's generator rounds (the last step's generator rounds train a
 * generator nobody uses, so they are skipped). Step 0 trains the generator in `--generator-rounds`,
 * later steps in `--later-step-generator-rounds`. */
export function coordinatorFlags(method: MethodSpec, profile: Profile, sites: number, generatorNeeded = method.generator): string[] {
  const generatorRounds = method.generator && generatorNeeded ? profile.generatorRounds : 0;
  return [
    '--quorum', String(sites),
    '--segmenter-rounds', String(profile.segmenterRounds),
    '--generator-rounds', String(generatorRounds),
    '--later-step-generator-rounds', String(method.retrainGenerator ? generatorRounds : 0),
    '--deadline', String(Math.ceil(profile.stepTimeoutMs / 1000)),
    '--tick-ms', '200',
    '--heartbeat-timeout', '60',
  ];
}
