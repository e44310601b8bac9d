/**
 * The coordinator's training settings (the --training-file JSON): what sites are told to train
 * with and what the coordinator does after aggregating. This schema is the one source of their
 * type (TrainingSettings = z.infer), their defaults and their checks: a key not listed here is
 * refused with its path, a nested object given in part keeps the defaults of its other keys, and
 * the aggregation options are checked by the aggregation registry at load, not at the first round.
 *
 * Adding a setting is one line in `trainingSettingsSchema` (with its default and bounds), and one in
 * federation/frozen-training.ts: the value a step frozen before the setting existed trains with.
 */
import { z } from 'zod';
import { describeSettingsIssues } from '@fedciss/proto';
import { InvalidAggregationOptionsError } from '../aggregation/errors';
import { resolveAggregationOptions } from '../aggregation/registry';
import { DEFAULT_SERVER_DISTILLATION } from '../models/model-factory';
import { checkSecureAggregationFits, parsePrivacySettings, PrivacySettingsError } from '../privacy/privacy-settings';

import { REPLAY_GENERATOR_TRAINING } from '@fedciss/ml';
const count = z.number().int().min(0);
const positiveInt = z.number().int().min(1);
const positive = z.number().positive().finite();
const weight = z.number().min(0).finite();

/** Weights of the site's loss terms (ml's LossWeights, plus the pseudoLabels switch: 1 on, 0 off). */
const lossWeightsSchema = z.strictObject({
  // The step's own images take the separated cross-entropy (SS-IL), not the plain one: its softmax
  // leaves the old classes out at background and new-class pixels, where the plain one pushed their
  // logits down. In bench:ciss ours kept 1.7 ± 0.8 more old-class points over six seeds (more on every
  // one), new -0.9 ± 1.8, all +0.6 ± 1.1 (issue 18 note). Without a teacher (step 0) both are the same.
  ce: weight.default(0),
  unbiasedCe: weight.optional(),
  separatedCe: weight.default(1),
  // off: replay images are only distilled; with their teacher labels in the cross-entropy too, ours
  // kept the old classes alike (+0.5 ± 1.0) and learnt fewer new ones (-1.5 ± 0.8 mIoU over six seeds;
  // the ureter 2.4 against 5.8) in bench:ciss (issue 18 note)
  replayCe: weight.default(0),
  kd: weight.default(10), // MiB's weight for ml's KD averaged over the old classes
  pod: weight.default(0), // off: it cost new-class mIoU on every seed of bench:ciss (issue 18 note)
  contrastive: weight.default(0), // off: no measurable effect in bench:ciss (issue 18 note)
  dice: weight.default(0), // off: it traded old-class mIoU for new in bench:ciss, all +0.3 ± 1.5 (issue 18 note)
  pseudoLabels: weight.optional(),
});

const generatorTrainingSchema = z.strictObject({
  epochs: positiveInt.default(2),
  batchSize: positiveInt.default(REPLAY_GENERATOR_TRAINING.batchSize),
  learningRate: positive.default(REPLAY_GENERATOR_TRAINING.learningRate),
  /** Wall-clock budget of a site's generator training per round, seconds; 0: `epochs` passes. A
   * file that sets generatorTraining without it trains by epochs. */
  seconds: z.number().min(0).default(0),
});

const serverDistillationSchema = z.strictObject({
  images: positiveInt.default(DEFAULT_SERVER_DISTILLATION.images),
  samplingSteps: positiveInt.default(DEFAULT_SERVER_DISTILLATION.samplingSteps),
  batchSize: positiveInt.default(DEFAULT_SERVER_DISTILLATION.batchSize),
  learningRate: positive.default(DEFAULT_SERVER_DISTILLATION.learningRate),
});

/** `{strategy, ...options}`; the registry knows each strategy's options and their ranges. */
const aggregationSchema = z.looseObject({ strategy: z.string() }).superRefine((options, ctx) => {
  try {
    resolveAggregationOptions(options);
  } catch (e) {
    if (!(e instanceof InvalidAggregationOptionsError)) throw e;
    for (const problem of e.problems) ctx.addIssue({ code: 'custom', message: problem });
  }
});

/** Differential privacy and secure aggregation: checked by privacy/privacy-settings.ts (one place for their keys). */
const privacySchema = z.unknown().transform((raw, ctx) => {
  try {
    return parsePrivacySettings(raw);
  } catch (e) {
    if (!(e instanceof PrivacySettingsError)) throw e;
    ctx.addIssue({ code: 'custom', message: e.message.replace(/^privacy\./, '') });
    return z.NEVER;
  }
});

/** Architecture overrides, checked by the model factory when a step opens. */
const architectureSchema = z.record(z.string(), z.unknown());

export const trainingSettingsSchema = z.strictObject({
  localEpochs: count.default(1),
  batchSize: positiveInt.default(8),
  learningRate: positive.default(1e-3),
  /** At steps after the first, the share of each segmenter round's local steps over which a site's
   * learning rate rises linearly to the schedule's: every round starts Adam afresh from the global
   * model, and its first updates move every weight by about the full learning rate, old classes'
   * knowledge included. A tenth: in bench:ciss (quick, seeds 1-3, shared step 0) step 1 with it
   * against without: ours old +1.8 ± 1.3, all +0.9 ± 0.8; MiB old +2.7 ± 2.5, all +2.1 ± 1.7. Step 0,
   * which trains from scratch, has nothing to keep: joint training with it lost 2.6 ± 2.2 all-class
   * points (issue 18's notes, thirty-fourth session). 0: none. */
  warmupFraction: z.number().min(0).lt(1).default(0.1),
  /** Synthetic images each site generates (and the teacher labels) for replay at steps > 0; 0: no
   * replay. A site skips it where its step's images already show the old classes
   * (replayBelowOldClassShare): in bench:ciss that left overlapped scenes as without replay and gave
   * disjoint ones +1.9 ± 0.7 all-class mIoU (docs/benchmarks/ciss.md). */
  replayImages: count.default(16),
  pseudoLabelThreshold: z.number().gt(0).max(1).default(0.7),
  lossWeights: lossWeightsSchema.prefault({}),
  /** Local training of the diffusion generator in generator rounds. */
  generatorTraining: generatorTrainingSchema.prefault({ seconds: REPLAY_GENERATOR_TRAINING.seconds }),
  /** Each site checks its replay set at each step > 0 (ml replay/check.ts): the fidelity of a
   * student taught on it against the same student taught on its generator's untrained samples (the
   * noise floor), scored on its held-out patients, and the share of its step images' pixels the
   * teacher gives to old classes. A site whose generator does not beat its noise floor by a margin
   * (0.05) skips replay, as does one whose images already show the old classes
   * (replayBelowOldClassShare). The figures travel in the update's ReplayCheck and the Reports page
   * shows them. Costs two short students a site and step (about 17 s in bench:ciss's quick profile,
   * 70 s in its default). false: every site replays, nothing is measured. */
  replayCheck: z.boolean().default(true),
  /** With the replay check, a site whose replay fidelity is below this skips replay as well; 0: the
   * noise floor alone decides. It was 0.5 until the twenty-first session, when bench:ciss showed it
   * skipping replay that paid: on the default profile's disjoint scenes, sites measuring 0.40-0.49
   * (their noise floor 0.18-0.23) skipped it, and replay there kept 13.5 and 16.6 more points of the
   * old classes on those two seeds (issue 18's notes). */
  replayFidelityThreshold: z.number().min(0).default(0),
  /** Share of each local batch taken from the replay set when a site replays (the rest are the
   * step's real images; the optimizer steps stay the same, so more replay is fewer real images). A
   * quarter: half cost the new classes more than it gave the old in bench:ciss, on both kinds of scenes. */
  replayFraction: z.number().gt(0).lt(1).default(0.25),
  /** A site whose step images already show the old classes skips replay for the step: the share of
   * their pixels that the teacher's confident pseudo-labels turn into old classes (background-labelled
   * pixels only get pseudo-labels) is at least this. Measured with the replay check (replayCheck); 0:
   * never skips for this. bench:ciss's scenes: 11.6-20.3% where a step's patients show the old
   * organs, 0.3-1.0% where they do not (issue 18's notes, tenth session). */
  replayBelowOldClassShare: z.number().min(0).max(1).default(0.04),
  /** Steps of server-side distillation on generated images after each aggregation (0: off). Off by
   * default: it never earned its place in bench:ciss (ours with it − without, all-class mIoU over 3
   * seeds: -0.3 ± 0.3 and +0.2 ± 1.7 on overlapped scenes, +0.9 ± 1.2 on disjoint ones; issue 18's
   * notes), and it costs the coordinator about 30 s a step of sampling and training. */
  serverDistillSteps: count.default(0),
  /** Images generated for it, their DDIM steps, and the optimizer's batch size and learning rate. */
  serverDistillation: serverDistillationSchema.prefault({}),
  /** Endpoint fusion (EWF, Xiao et al., CVPR 2023) at steps after the first: the aggregate of a
   * step's last segmenter round is moved this share of the way back toward the model the step
   * started from (the teacher, its head grown), weight by weight, on the coordinator. 0: off. Off
   * by default: in bench:ciss (quick, seeds 1-6, each fused model against its own unfused one) it
   * gives ours nothing (0.1: all -0.1 ± 0.6, old +0.9 ± 0.6, new -1.4 ± 0.7) and MiB a little on
   * every seed (0.1: all +1.3 ± 0.9); larger weights trade the new classes for the old
   * (docs/benchmarks/ciss.md, "Endpoint fusion"). */
  endpointFusion: z.number().min(0).lt(1).default(0),
  /** Aggregation strategy and its options (see aggregation/registry.ts; which to choose, measured: aggregation/README.md). */
  aggregation: aggregationSchema.prefault({ strategy: 'fedavg' }),
  /**
   * Also evaluate every site's local model (its update in the step's last segmenter round) on
   * every site's test patients: the cross-site matrix of the report.
   */
  crossSiteEvaluation: z.boolean().default(false),
  /**
   * Also evaluate the aggregate of every segmenter round but a step's last (which the step's own
   * evaluation round scores) on the sites' test patients, in an evaluation round of its own: the
   * old/new/all mIoU per round of GET /api/reports/steps/:step/rounds. Off: one evaluation per step.
   */
  evaluateEveryRound: z.boolean().default(false),
  /** Largest L2 norm of an update's delta that is accepted. */
  maxUpdateNorm: positive.default(1e4),
  /** Differential privacy of the updates, its budget, and secure aggregation (privacy/privacy-settings.ts). */
  privacy: privacySchema.prefault({}),
  /** Architecture overrides; unset: the model factory's defaults. */
  segmenter: architectureSchema.optional(),
  generator: architectureSchema.optional(),
}).superRefine((t, ctx) => {
  if (t.replayFidelityThreshold > 0 && !t.replayCheck) {
    ctx.addIssue({ code: 'custom', path: ['replayFidelityThreshold'], message: 'needs the replay check that measures the fidelity (replayCheck is false)' });
  }
  try {
    checkSecureAggregationFits(t.privacy, t);
  } catch (e) {
    if (!(e instanceof PrivacySettingsError)) throw e;
    ctx.addIssue({ code: 'custom', path: ['privacy', 'secureAggregation'], message: e.message.replace(/^privacy\.secureAggregation: /, '') });
  }
});

export type TrainingSettings = z.infer<typeof trainingSettingsSchema>;

export const DEFAULT_TRAINING: TrainingSettings = trainingSettingsSchema.parse({});

export class TrainingSettingsError extends Error {
  override readonly name = 'TrainingSettingsError';
  constructor(readonly source: string, readonly problems: readonly string[]) {
    super(`${source}: ${problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`}`);
  }
}

/** Checks settings (any subset of keys) and fills in every default; throws naming each bad key's path. */
export function validateTrainingSettings(raw: unknown, source: string): TrainingSettings {
  const parsed = trainingSettingsSchema.safeParse(raw);
  if (!parsed.success) throw new TrainingSettingsError(source, describeSettingsIssues(parsed.error.issues));
  return parsed.data;
}
