/** How far from the machine's limit the engine runs: the floating-point work of a model (counted
 * on its graph) and this machine's matrix-multiply peak as ONNX Runtime reaches it (measured in
 * the same run as the figure it is compared with). */
import { topoSort } from '../autodiff/grad';
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { CompiledGraph } from '../runtime/compiled';
import type { RuntimeOptions } from '../runtime/session';

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Multiply-adds x 2 of the convolutions and matrix products that compute `outputs` (elementwise
 * work, norms and the optimizer are left out: they are a few percent of a conv net's work). */
export function graphFlops(outputs: readonly Tensor[]): number {
  let flops = 0;
  for (const t of topoSort(outputs)) {
    if (t.op === 'conv') {
      const w = t.inputs[1].shape; // [Co, Ci/groups, kh, kw]
      flops += 2 * prod(t.shape) * w[1] * w[2] * w[3];
    } else if (t.op === 'convTranspose') {
      const x = t.inputs[0].shape; // [N, Ci, H, W]
      const w = t.inputs[1].shape; // [Ci, Co/groups, kh, kw]
      flops += 2 * prod(x) * w[1] * w[2] * w[3];
    } else if (t.op === 'matmul' || t.op === 'gemm') {
      const a = t.inputs[0];
      const transA = t.op === 'gemm' && t.attrs.transA === true;
      const k = transA ? a.shape[a.rank - 2] : a.shape[a.rank - 1];
      flops += 2 * prod(t.shape) * k;
    }
  }
  return flops;
}

/** The work of one training step, by the usual estimate: 3 x the forward pass (the backward pass
 * computes two products per forward one: the input's and the weight's gradient). */
export function trainStepFlops(forward: (g: Graph) => Tensor): number {
  const g = new Graph({ training: true });
  return 3 * graphFlops([forward(g)]);
}

/** Best GFLOP/s of ONNX Runtime's MatMul on n x n float32 matrices (the machine's practical peak
 * for this engine), over `repeats` runs after a warm-up. */
export async function matmulPeakGflops(runtime: RuntimeOptions = {}, n = 1024, repeats = 5): Promise<number> {
  const g = new Graph({ training: false });
  const c = await CompiledGraph.compile({ y: F.matmul(g.input('a', [n, n]), g.input('b', [n, n])) }, runtime);
  const a = { shape: [n, n], data: Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13) };
  const feeds = { a, b: a };
  await c.run(feeds);
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const s = performance.now();
    await c.run(feeds);
    best = Math.min(best, performance.now() - s);
  }
  await c.release();
  return (2 * n ** 3) / (best / 1000) / 1e9;
}
