/** Domain errors of aggregation. Every error names the tensor (and, for shapes, both shapes) so an
 * operator can tell which site sent what without opening the weight file. */

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

export class AggregationError extends Error {
  override readonly name: string = 'AggregationError';
}

/** A tensor's shape differs from the global model's. */
export class TensorShapeMismatchError extends AggregationError {
  override readonly name = 'TensorShapeMismatchError';
  constructor(
    readonly tensor: string,
    readonly expectedShape: readonly number[],
    readonly actualShape: readonly number[],
  ) {
    super(`tensor '${tensor}': expected shape ${fmt(expectedShape)} (global model) but got ${fmt(actualShape)}`);
  }
}

/** A tensor of the global model is absent from an update, or an update has a tensor the global model lacks. */
export class TensorNameMismatchError extends AggregationError {
  override readonly name = 'TensorNameMismatchError';
  constructor(
    readonly tensor: string,
    readonly problem: 'missing' | 'unexpected',
  ) {
    super(
      problem === 'missing'
        ? `tensor '${tensor}' of the global model is missing from the update`
        : `tensor '${tensor}' is not part of the global model`,
    );
  }
}

/** Strategy options out of range, or an unknown strategy name. */
export class InvalidAggregationOptionsError extends AggregationError {
  override readonly name = 'InvalidAggregationOptionsError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid aggregation options: ${problems.join('; ')}`);
  }
}

/** finish() with no accepted update, add() after finish(), or server state of another strategy. */
export class AggregationStateError extends AggregationError {
  override readonly name = 'AggregationStateError';
}

export { fmt as formatShape };
