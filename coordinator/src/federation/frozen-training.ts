/**
 * A step's training settings are frozen when it opens (StepConfig) and read back from the database
 * for each of its rounds. A step frozen by an older coordinator lacks every setting added since; each
 * takes here the value that reproduces the step's recipe before the setting existed (the term or
 * feature off, or what stood in its place), never today's default: upgrading the coordinator in the
 * middle of a step must not change how the step trains. Without this a missing loss weight travelled
 * to the sites as NaN (ts-proto encodes an absent double so), which their loss table read as off only
 * because NaN > 0 is false; the sites now refuse it.
 *
 * Adding a training setting: its line here as well, with the value it had before it existed.
 */
import { DEFAULT_PRIVACY } from '../privacy/privacy-settings';
import type { TrainingSettings } from '../config/coordinator-config';

type LossWeights = TrainingSettings['lossWeights'];
type GeneratorTraining = TrainingSettings['generatorTraining'];

/** Settings added after steps were first stored, top level and nested. */
type AddedLater = 'warmupFraction' | 'replayCheck' | 'replayFidelityThreshold' | 'replayFraction' | 'replayBelowOldClassShare'
  | 'endpointFusion' | 'crossSiteEvaluation' | 'evaluateEveryRound' | 'privacy';
type LossWeightsAddedLater = 'separatedCe' | 'replayCe' | 'dice';

/** The training settings as a step stored them: any setting added later may be absent. */
export type StoredTrainingSettings = Omit<TrainingSettings, AddedLater | 'lossWeights' | 'generatorTraining'> & Partial<Pick<TrainingSettings, AddedLater>> & {
  lossWeights: Omit<LossWeights, LossWeightsAddedLater> & Partial<Pick<LossWeights, LossWeightsAddedLater>>;
  generatorTraining: Omit<GeneratorTraining, 'seconds'> & Partial<Pick<GeneratorTraining, 'seconds'>>;
};

/** A frozen step's training settings with each setting it was frozen without as the step trained before it existed. */
export function frozenTrainingSettings(stored: StoredTrainingSettings): TrainingSettings {
  const replayFidelityThreshold = stored.replayFidelityThreshold ?? 0;
  return {
    ...stored,
    // The step's own images took the plain cross-entropy (`ce`) alone.
    lossWeights: { ...stored.lossWeights, separatedCe: stored.lossWeights.separatedCe ?? 0, replayCe: stored.lossWeights.replayCe ?? 0, dice: stored.lossWeights.dice ?? 0 },
    // Generator rounds trained for their epochs, with no wall-clock budget.
    generatorTraining: { ...stored.generatorTraining, seconds: stored.generatorTraining.seconds ?? 0 },
    warmupFraction: stored.warmupFraction ?? 0,
    replayFidelityThreshold,
    // Before the replay check had a switch of its own, a fidelity threshold turned it on.
    replayCheck: stored.replayCheck ?? replayFidelityThreshold > 0,
    // 0 on the wire: the site's own default share, which is what such a step replayed.
    replayFraction: stored.replayFraction ?? 0,
    replayBelowOldClassShare: stored.replayBelowOldClassShare ?? 0,
    endpointFusion: stored.endpointFusion ?? 0,
    crossSiteEvaluation: stored.crossSiteEvaluation ?? false,
    evaluateEveryRound: stored.evaluateEveryRound ?? false,
    privacy: stored.privacy ?? DEFAULT_PRIVACY,
  };
}
