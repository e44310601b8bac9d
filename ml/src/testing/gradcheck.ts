import { grad } from '../autodiff/grad';
import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { gaussian, initialise, seededRandom } from '../init/initializers';
import { CompiledGraph } from '../runtime/compiled';
import type { TensorValue } from '../runtime/session';

export interface GradInput {
  readonly shape: readonly number[];
  /** Values for this input (default: standard normal). Non-float inputs are never perturbed. */
  readonly gen?: (n: number, rand: () => number) => Float32Array | BigInt64Array | Int32Array;
}

export interface GradCheckOptions {
  readonly eps?: number;
  readonly rtol?: number;
  readonly atol?: number;
  readonly seed?: number;
}

export interface GradCheckResult {
  readonly analytic: number;
  readonly numeric: number;
  readonly ok: boolean;
}

const dtypeOf = (d: Float32Array | BigInt64Array | Int32Array) => (d instanceof Float32Array ? 'float32' : d instanceof BigInt64Array ? 'int64' : 'int32');

/** The dot-product test (parameters the build registers are checked too, with values from their
 * initialisers plus noise) (JAX's check_vjp): for a random output direction r and input direction v,
 * <backward(r), v> must equal d/de <f(x + e v), r>, the latter by central differences of the
 * forward graph in ORT, accumulated in float64 here. */
export async function gradCheck(
  build: (g: Graph, xs: Tensor[]) => Tensor,
  declared: readonly GradInput[],
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const { eps = 1e-2, rtol = 2e-2, atol = 1e-3, seed = 7 } = options;
  const rand = seededRandom(seed);
  let inputs = declared;
  const fixed: Record<string, TensorValue> = {};
  const values: (Float32Array | BigInt64Array | Int32Array)[] = inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    return s.gen ? s.gen(n, rand) : Float32Array.from({ length: n }, () => gaussian(rand));
  });
  const g = new Graph({ training: true });
  const xs = inputs.map((s, i) => g.input(`x${i}`, s.shape, dtypeOf(values[i])));
  const y = build(g, xs);
  const r = g.input('r', y.shape);
  for (const [name, p] of g.params) {
    const spec = g.paramSpecs.get(name);
    if (!spec) continue;
    xs.push(p);
    values.push(Float32Array.from(initialise(spec.shape, spec.init, rand), (v) => v + 0.2 * gaussian(rand)));
    inputs = [...inputs, { shape: p.shape }];
  }
  for (const [name, b] of g.buffers) {
    const spec = g.bufferSpecs.get(name);
    if (spec) fixed[name] = { shape: b.shape, data: initialise(spec.shape, spec.init, rand) };
  }
  const floats = xs.filter((x) => x.dtype === 'float32');
  const grads = grad(y, floats, r);
  const outputs: Record<string, Tensor> = { y };
  grads.forEach((t, i) => (outputs[`g${i}`] = t));
  const compiled = await CompiledGraph.compile(outputs);

  const rv = Float32Array.from({ length: y.size }, () => gaussian(rand));
  const dirs = values.map((v) => (v instanceof Float32Array ? Float32Array.from(v, () => gaussian(rand)) : null));
  const feeds = (sign: number): Record<string, TensorValue> => {
    const f: Record<string, TensorValue> = { ...fixed, r: { shape: y.shape, data: rv } };
    values.forEach((v, i) => {
      const d = dirs[i];
      f[xs[i].op === 'input' ? `x${i}` : (xs[i].attrs.name as string)] = { shape: inputs[i].shape, data: d && v instanceof Float32Array ? Float32Array.from(v, (x, j) => x + sign * eps * d[j]) : v };
    });
    return f;
  };
  const base = await compiled.run(feeds(0));
  let analytic = 0;
  let k = 0;
  dirs.forEach((d) => {
    if (!d) return;
    const gi = base[`g${k++}`].data as Float32Array;
    for (let j = 0; j < d.length; j++) analytic += gi[j] * d[j];
  });
  const dot = (out: Record<string, TensorValue>) => {
    const yv = out.y.data as Float32Array;
    let s = 0;
    for (let j = 0; j < yv.length; j++) s += yv[j] * rv[j];
    return s;
  };
  const numeric = (dot(await compiled.run(feeds(1))) - dot(await compiled.run(feeds(-1)))) / (2 * eps);
  await compiled.release();
  const ok = Math.abs(analytic - numeric) <= atol + rtol * Math.max(Math.abs(analytic), Math.abs(numeric));
  return { analytic, numeric, ok };
}
