import type { DType } from '../graph/tensor';
import type { OpRule } from './types';
import { meta } from './util';

/** Graph inputs, parameters, buffers and constants: no inputs, shape from their declaration.
 * The emitter turns them into ONNX graph inputs or initializers. */
const source: OpRule = {
  shape: (_inputs, attrs) => meta(attrs.shape as number[], attrs.dtype as DType),
  lower: () => undefined,
  backward: () => [],
};

export const sourceRules = { input: source, param: source, buffer: source, constant: source };
