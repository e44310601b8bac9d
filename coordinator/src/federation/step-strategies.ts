import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors';
import { createStrategy, InvalidAggregationOptionsError, type AggregationStrategy } from '../aggregation';
import type { StepConfig } from './step-config';

/** Each step's aggregation strategy, built once from the step's frozen settings (not on every site poll). */
@Injectable()
export class StepStrategies {
  private readonly strategies = new Map<number, AggregationStrategy>();

  of(stepIndex: number, cfg: StepConfig): AggregationStrategy {
    let strategy = this.strategies.get(stepIndex);
    if (!strategy) {
      try {
        strategy = createStrategy(cfg.training.aggregation);
      } catch (e) {
        // Settings are checked at start-up, so only a step stored by an older coordinator gets here:
        // the operator's to fix, not the site's fault nor a crash (sites wait and ask again).
        if (!(e instanceof InvalidAggregationOptionsError)) throw e;
        throw new DomainError('unavailable', `step ${stepIndex} has invalid aggregation settings (${e.message}); the coordinator's operator must fix them`);
      }
      this.strategies.set(stepIndex, strategy);
    }
    return strategy;
  }
}
