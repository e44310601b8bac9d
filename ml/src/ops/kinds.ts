/** Every primitive the engine knows. Everything else (softmax cross-entropy, norms, pooling by
 * averaging, attention, ...) is a composition of these and gets its gradient for free. */
export const OP_KINDS = [
  // sources
  'input', 'param', 'buffer', 'constant',
  // elementwise, broadcasting
  'add', 'sub', 'mul', 'div', 'pow', 'equal', 'less', 'greater', 'where',
  // elementwise, unary
  'neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'relu', 'leakyRelu', 'sigmoid', 'tanh', 'erf',
  'sin', 'cos', 'clip', 'cast', 'detach',
  // layout
  'reshape', 'transpose', 'expand', 'slice', 'concat', 'pad', 'gather',
  // reductions, normalised exponentials, normalisation
  'reduceSum', 'reduceMax', 'softmax', 'logSoftmax', 'groupNorm',
  // linear algebra and images
  'matmul', 'gemm', 'conv', 'convTranspose', 'maxPool', 'maxPoolGrad', 'resize',
] as const;

export type OpKind = (typeof OP_KINDS)[number];
