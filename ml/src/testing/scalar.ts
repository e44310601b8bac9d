import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { CompiledGraph } from '../runtime/compiled';

/** Compiles and runs a graph built from constants, and returns its scalar (e.g. a loss on hand-made logits). */
export async function scalarValue(build: (g: Graph) => Tensor): Promise<number> {
  const g = new Graph();
  const c = await CompiledGraph.compile({ y: build(g) });
  const out = await c.run({});
  await c.release();
  return (out.y.data as Float32Array)[0];
}
