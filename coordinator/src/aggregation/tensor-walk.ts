import type { NamedTensor, NamedTensors } from '@fedciss/ml';
import { AggregationStateError, TensorNameMismatchError } from './errors';
import { assertSameShape, sumOfSquaredDifferences, sumOfSquares } from './math';
import type { ClientUpdate, TensorSource } from './types';

/**
 * Walks an update's tensors against the global model: calls `fn` for each tensor whose name and
 * shape match, throws TensorNameMismatchError for an unexpected or repeated name and, at the end,
 * for a missing one; TensorShapeMismatchError for a shape.
 */
export function forEachMatched(
  global: NamedTensors,
  source: TensorSource,
  fn: (name: string, update: NamedTensor, global: NamedTensor) => void,
): void {
  const seen = new Set<string>();
  for (const [name, t] of source) {
    const g = global.get(name);
    if (!g || seen.has(name)) throw new TensorNameMismatchError(name, 'unexpected');
    assertSameShape(name, g.shape, t.shape);
    seen.add(name);
    fn(name, t, g);
  }
  if (seen.size !== global.size) {
    for (const name of global.keys()) if (!seen.has(name)) throw new TensorNameMismatchError(name, 'missing');
  }
}

/** True for a one-shot iterator (a generator object), which a second pass cannot read again. */
export function isOneShot(source: TensorSource): boolean {
  return typeof (source as Partial<Iterator<unknown>>).next === 'function';
}

/** L2 norm of an update's delta from the global model (Float64 sums); uses `update.deltaNorm` when given. */
export function deltaNormOf(global: NamedTensors, update: ClientUpdate): number {
  if (update.deltaNorm !== undefined) return update.deltaNorm;
  if (isOneShot(update.tensors)) {
    throw new AggregationStateError(
      `update of site '${update.siteId}' is a one-shot stream: clipping needs its deltaNorm (validateUpdate computes it)`,
    );
  }
  let s = 0;
  forEachMatched(global, update.tensors, (_name, t, g) => {
    s += update.kind === 'delta' ? sumOfSquares(t.data) : sumOfSquaredDifferences(t.data, g.data);
  });
  return Math.sqrt(s);
}
