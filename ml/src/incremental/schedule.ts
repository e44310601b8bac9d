/** Where a training loop stands: the learning-rate schedule it follows and what it reports after each step. */

/** The poly learning-rate schedule lr * (1 - step/total)^power. */
export function polyLearningRate(base: number, step: number, total: number, power = 0.9): number {
  return base * Math.pow(Math.max(0, 1 - step / Math.max(total, 1)), power);
}

/** Factor of a linear warm-up over a round's first `warmupSteps` steps: (step + 1) / warmupSteps,
 * then 1; `step` is 0-based within the round. Each federated round starts Adam afresh from the
 * global model, and Adam's first updates move every weight by about the full learning rate whatever
 * its gradient's size (m / sqrt(v) is about ±1 then): at step 1 that kick cost the old classes
 * before distillation could hold them (issue 18's notes, thirty-fourth session). 0 steps: none. */
export function warmupFactor(step: number, warmupSteps: number): number {
  return warmupSteps > 0 ? Math.min(1, (step + 1) / warmupSteps) : 1;
}

/** What both training loops report after each step. */
export interface TrainProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done so far (1-based) out of totalSteps. */
  readonly step: number;
  readonly totalSteps: number;
  readonly learningRate: number;
  readonly losses: Readonly<Record<string, number>>;
}
