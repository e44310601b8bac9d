/** The loss terms of the server's distillation on synthetic images (distillOnImages): one entry per
 * term, in the order of the weighted sum. Adding a term: its graph function in losses.ts, its weight
 * in DistillLossWeights (with a default), and one entry here. */
import type { TensorValue } from '../runtime/session';
import { lossTerm, LossTerm } from './loss-table';
import { newClassDistillation, podDistillation, unbiasedDistillation } from './losses';

/** kd: toward the teacher on old classes; keepNew: toward the starting student on new classes;
 * pod: the teacher's features. */
export interface DistillLossWeights {
  readonly kd: number;
  readonly keepNew: number;
  readonly pod: number;
}

export const DEFAULT_DISTILL_LOSS_WEIGHTS: DistillLossWeights = { kd: 1, keepNew: 1, pod: 0 };

export interface DistillLossSetup {
  readonly weights: DistillLossWeights;
  /** The student's classes, and the teacher's (the old ones). */
  readonly numClasses: number;
  readonly teacherClasses: number;
  readonly temperature?: number;
  readonly podFeatures: readonly string[];
}

export interface DistillBatch {
  readonly teacher: { readonly logits: TensorValue; readonly features: Readonly<Record<string, TensorValue>> };
  /** The starting student's logits, when a term needs them (see needsStartModel). */
  readonly start?: TensorValue;
}

export type DistillLossKey = keyof DistillLossWeights;

export const DISTILL_LOSS_TERMS: Readonly<Record<DistillLossKey, LossTerm<DistillLossSetup, DistillBatch>>> = {
  kd: lossTerm<DistillLossSetup, DistillBatch, 'teacherLogits'>({
    weight: (s) => s.weights.kd,
    feeds: (_s, b) => ({ teacherLogits: b.teacher.logits }),
    build: (s, net, input) => unbiasedDistillation(net.logits, input('teacherLogits'), { temperature: s.temperature }),
  }),
  keepNew: lossTerm<DistillLossSetup, DistillBatch, 'startLogits'>({
    weight: (s) => s.weights.keepNew,
    applies: (s) => s.numClasses > s.teacherClasses,
    feeds: (_s, b) => {
      if (!b.start) throw new Error("loss term 'keepNew' needs the starting student's logits");
      return { startLogits: b.start };
    },
    build: (s, net, input) => newClassDistillation(net.logits, input('startLogits'), s.teacherClasses, { temperature: s.temperature }),
  }),
  pod: lossTerm<DistillLossSetup, DistillBatch, string>({
    weight: (s) => s.weights.pod,
    feeds: (s, b) => Object.fromEntries(s.podFeatures.map((n) => [n, b.teacher.features[n]])),
    build: (s, net, input) => podDistillation(s.podFeatures.map((n) => net.features[n]), s.podFeatures.map(input)),
  }),
};
