/** Where a training loop stands: the learning-rate schedule it follows and what it reports after each step. */

/** The poly learning-rate schedule lr * (1 - step/total)^power. */
export function polyLearningRate(base: number, step: number, total: number, power = 0.9): number {
  return base * Math.pow(Math.max(0, 1 - step / Math.max(total, 1)), power);
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
