/** Compiles a whole training step (forward, losses, backward, optimizer) into one ONNX graph and
 * runs it: inputs are parameters, buffers, optimizer state, the batch and the learning rate;
 * outputs are the loss terms and the new parameters, buffers and state. Cached per batch shape. */
import { grad } from '../autodiff/grad';
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import type { DType, Tensor } from '../graph/tensor';
import { initialise, seededRandom } from '../init/initializers';
import { CompiledGraph } from '../runtime/compiled';
import { dtypeOfData, RuntimeOptions, TensorValue, trainingRuntime } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';
import { applyOptimizer, clipByGlobalNorm, OptimizerConfig, stateSlots } from './optimizers';

export interface ModelOutputs {
  /** Scalar loss terms by name; the step minimises their weighted sum. */
  readonly losses: Readonly<Record<string, Tensor>>;
  /** Extra tensors to return from each step (e.g. logits for metrics). */
  readonly outputs?: Readonly<Record<string, Tensor>>;
}

/** Builds the training forward pass for a batch (graph inputs named like the batch entries). */
export type TrainModel = (g: Graph, batch: Readonly<Record<string, Tensor>>) => ModelOutputs;

export interface BatchSpec {
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

export interface TrainStepConfig {
  readonly model: TrainModel;
  readonly optimizer: OptimizerConfig;
  /** Weight of each loss term in the minimised total (default 1). */
  readonly lossWeights?: Readonly<Record<string, number>>;
  /** Clip gradients to this global L2 norm. */
  readonly clipGradNorm?: number;
  /** Apply the optimizer every k steps with the mean gradient of the k batches (default 1). */
  readonly accumulationSteps?: number;
  /** Parameters that are not trained (names, or a predicate). */
  readonly frozen?: readonly string[] | ((name: string) => boolean);
  /** Starting weights (parameters and buffers); missing ones are initialised from `seed`. */
  readonly weights?: NamedTensors;
  readonly seed?: number;
  readonly runtime?: RuntimeOptions;
  /** Compile for this batch shape right away (otherwise at the first step). */
  readonly batch?: Readonly<Record<string, BatchSpec>>;
}

export interface StepResult {
  /** Every loss term, unweighted, plus `total` (the weighted sum). */
  readonly losses: Record<string, number>;
  /** Whether the optimizer update was applied (false on accumulation-only steps). */
  readonly applied: boolean;
  readonly outputs: Record<string, TensorValue>;
}

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly term: string, readonly value: number) {
    super(`loss term '${term}' is ${value}: the step was refused and the weights are unchanged`);
  }
}

interface CompiledStep {
  readonly graph: CompiledGraph;
  readonly trainable: readonly string[];
  readonly buffers: readonly string[];
  readonly lossNames: readonly string[];
  readonly outputNames: readonly string[];
}

const specOf = (v: TensorValue): BatchSpec => ({ shape: v.shape, dtype: dtypeOfData(v.data) });

export class Trainer {
  /** Parameters and buffers, by name (replaced, never mutated, by each step). */
  readonly weights: NamedTensors;
  /** Optimizer state, flat over the trainable parameters in registration order: `opt:${slot}`
   * (`opt:m`, `opt:v`, `opt:momentum`, and `opt:accum` for gradient accumulation). */
  readonly optimizerState: NamedTensors = new Map();
  /** Number of optimizer updates applied so far. */
  updates = 0;
  private micro = 0;
  private readonly cache = new Map<string, Promise<CompiledStep>>();
  private readonly evalCache = new Map<string, Promise<CompiledGraph>>();
  private readonly rand: () => number;

  constructor(readonly config: TrainStepConfig) {
    this.weights = new Map(config.weights ?? []);
    this.rand = seededRandom(config.seed ?? 1);
  }

  private isFrozen(name: string): boolean {
    const f = this.config.frozen;
    return !f ? false : typeof f === 'function' ? f(name) : f.includes(name);
  }

  /** Builds the model once on a throw-away graph to create any missing weights. */
  initWeights(batch: Readonly<Record<string, BatchSpec>>): NamedTensors {
    const g = new Graph({ training: true });
    const inputs: Record<string, Tensor> = {};
    for (const [name, s] of Object.entries(batch)) inputs[name] = g.input(name, s.shape, s.dtype ?? 'float32');
    this.config.model(g, inputs);
    this.ensureWeights(g);
    return this.weights;
  }

  private ensureWeights(g: Graph): void {
    for (const spec of [...g.paramSpecs.values(), ...g.bufferSpecs.values()]) {
      const have = this.weights.get(spec.name);
      if (have) {
        if (have.shape.join(',') !== spec.shape.join(',')) {
          throw new Error(`weight '${spec.name}' is [${have.shape.join(', ')}] but the model declares [${spec.shape.join(', ')}]`);
        }
        continue;
      }
      this.weights.set(spec.name, { shape: [...spec.shape], data: initialise(spec.shape, spec.init, this.rand) });
    }
  }

  /** Compiles (or fetches from the cache) the step graph for a batch shape. */
  compile(batch: Readonly<Record<string, BatchSpec>>): Promise<CompiledStep> {
    const key = JSON.stringify(Object.entries(batch).sort().map(([n, s]) => [n, s.shape, s.dtype ?? 'float32']));
    let c = this.cache.get(key);
    if (!c) {
      c = this.build(batch);
      this.cache.set(key, c);
      c.catch(() => this.cache.delete(key));
    }
    return c;
  }

  private async build(batch: Readonly<Record<string, BatchSpec>>): Promise<CompiledStep> {
    const cfg = this.config;
    const g = new Graph({ training: true });
    const inputs: Record<string, Tensor> = {};
    for (const [name, s] of Object.entries(batch)) inputs[name] = g.input(name, s.shape, s.dtype ?? 'float32');
    const { losses, outputs = {} } = cfg.model(g, inputs);
    this.ensureWeights(g);
    const lossNames = Object.keys(losses);
    if (!lossNames.length) throw new Error('the model returned no loss terms');
    const out: Record<string, Tensor> = {};
    let total: Tensor | undefined;
    for (const name of lossNames) {
      const l = losses[name];
      if (l.size !== 1) throw new Error(`loss term '${name}' is not a scalar: [${l.shape.join(', ')}]`);
      const scalar = F.reshape(l, []);
      out[`loss:${name}`] = scalar;
      const w = cfg.lossWeights?.[name] ?? 1;
      if (w === 0) continue;
      const term = w === 1 ? scalar : F.mul(scalar, w);
      total = total ? F.add(total, term) : term;
    }
    if (!total) throw new Error('every loss term has weight 0');
    out['loss:total'] = total;

    const trainable = [...g.params.keys()].filter((n) => !this.isFrozen(n));
    const params = trainable.map((n) => g.params.get(n) as Tensor);
    const grads = grad(total, params);
    const lr = g.input('step:lr', []);
    const step = g.input('step:number', []);
    const k = cfg.accumulationSteps ?? 1;
    const apply = k > 1 ? g.input('step:apply', [], 'bool') : undefined;
    // The update runs once on all trainable parameters laid end to end: a dozen large elementwise
    // ops instead of a dozen per parameter. State is kept flat: `opt:${slot}`.
    const sizes = params.map((p) => p.size);
    const totalSize = sizes.reduce((a, b) => a + b, 0);
    const flat = (ts: readonly Tensor[]) => F.concat(ts.map((t) => F.reshape(t, [t.size])), 0);
    if (params.length) {
      const P = flat(params);
      let G = flat(grads);
      if (apply) {
        const acc = F.add(g.input('opt:accum', [totalSize]), G);
        out['state:opt:accum'] = F.where(apply, 0, acc);
        G = F.mul(acc, 1 / k);
      }
      if (cfg.clipGradNorm !== undefined) G = clipByGlobalNorm([G], cfg.clipGradNorm).grads[0];
      const state: Record<string, Tensor> = {};
      for (const slot of stateSlots(cfg.optimizer)) state[slot] = g.input(`opt:${slot}`, [totalSize]);
      const upd = applyOptimizer(cfg.optimizer, { param: P, grad: G, state, lr, step });
      const newP = apply ? F.where(apply, upd.param, P) : upd.param;
      for (const slot of Object.keys(state)) out[`state:opt:${slot}`] = apply ? F.where(apply, upd.state[slot], state[slot]) : upd.state[slot];
      let at = 0;
      params.forEach((p, i) => {
        out[`param:${trainable[i]}`] = F.reshape(F.slice(newP, [0], [at], [at + sizes[i]]), p.shape);
        at += sizes[i];
      });
    }
    for (const [name, t] of g.bufferUpdates) out[`buffer:${name}`] = t;
    for (const [name, t] of Object.entries(outputs)) out[`out:${name}`] = t;

    const graph = await CompiledGraph.compile(out, trainingRuntime(cfg.runtime));
    for (const [name, m] of graph.inputs) {
      if (name.startsWith('step:') || name in batch || this.weights.has(name) || this.optimizerState.has(name)) continue;
      this.optimizerState.set(name, { shape: [...m.shape], data: new Float32Array(m.shape.reduce((a, b) => a * b, 1)) });
    }
    return { graph, trainable, buffers: [...g.bufferUpdates.keys()], lossNames, outputNames: Object.keys(outputs) };
  }

  /** One training step. Throws NonFiniteLossError (and changes nothing) on a NaN/Inf loss. */
  async step(batch: Readonly<Record<string, TensorValue>>, lr: number): Promise<StepResult> {
    const specs: Record<string, BatchSpec> = {};
    for (const [n, v] of Object.entries(batch)) specs[n] = specOf(v);
    const c = await this.compile(specs);
    const k = this.config.accumulationSteps ?? 1;
    const applying = (this.micro + 1) % k === 0;
    const feeds = new Map<string, TensorValue>();
    for (const [n, v] of this.weights) feeds.set(n, v);
    for (const [n, v] of this.optimizerState) feeds.set(n, v);
    for (const [n, v] of Object.entries(batch)) feeds.set(n, v);
    feeds.set('step:lr', { shape: [], data: Float32Array.of(lr) });
    feeds.set('step:number', { shape: [], data: Float32Array.of(this.updates + 1) });
    feeds.set('step:apply', { shape: [], data: Uint8Array.of(applying ? 1 : 0) });
    const out = await c.graph.run(feeds);

    const losses: Record<string, number> = {};
    for (const name of [...c.lossNames, 'total']) {
      const v = (out[`loss:${name}`].data as Float32Array)[0];
      if (!Number.isFinite(v)) throw new NonFiniteLossError(name, v);
      losses[name] = v;
    }
    for (const [key, v] of Object.entries(out)) {
      const data = v.data as Float32Array;
      if (key.startsWith('param:')) this.weights.set(key.slice(6), { shape: v.shape, data });
      else if (key.startsWith('buffer:')) this.weights.set(key.slice(7), { shape: v.shape, data });
      else if (key.startsWith('state:')) this.optimizerState.set(key.slice(6), { shape: v.shape, data });
    }
    this.micro++;
    if (applying) this.updates++;
    const outputs: Record<string, TensorValue> = {};
    for (const name of c.outputNames) outputs[name] = out[`out:${name}`];
    return { losses, applied: applying, outputs };
  }

  /** Losses and outputs of the model in inference mode (BatchNorm on running statistics), with
   * the current weights; no update. Cached per batch shape like the step. */
  async evaluate(batch: Readonly<Record<string, TensorValue>>): Promise<{ losses: Record<string, number>; outputs: Record<string, TensorValue> }> {
    const key = JSON.stringify(Object.entries(batch).sort().map(([n, v]) => [n, v.shape, dtypeOfData(v.data)]));
    let c = this.evalCache.get(key);
    if (!c) {
      const g = new Graph({ training: false });
      const inputs: Record<string, Tensor> = {};
      for (const [name, v] of Object.entries(batch)) inputs[name] = g.input(name, v.shape, dtypeOfData(v.data));
      const { losses, outputs = {} } = this.config.model(g, inputs);
      this.ensureWeights(g);
      const out: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(losses)) out[`loss:${name}`] = F.reshape(t, []);
      for (const [name, t] of Object.entries(outputs)) out[`out:${name}`] = t;
      c = CompiledGraph.compile(out, this.config.runtime);
      this.evalCache.set(key, c);
    }
    const graph = await c;
    const feeds = new Map<string, TensorValue>([...this.weights, ...Object.entries(batch)]);
    const res = await graph.run(feeds);
    const losses: Record<string, number> = {};
    const outputs: Record<string, TensorValue> = {};
    for (const [key2, v] of Object.entries(res)) {
      if (key2.startsWith('loss:')) losses[key2.slice(5)] = (v.data as Float32Array)[0];
      else outputs[key2.slice(4)] = v;
    }
    return { losses, outputs };
  }

  /** How many step graphs (one per batch shape) are compiled. */
  get compiledShapes(): number {
    return this.cache.size;
  }

  /** Replaces weights by name (e.g. a new global model); optimizer state is kept. */
  setWeights(weights: NamedTensors): void {
    for (const [name, t] of weights) {
      const have = this.weights.get(name);
      if (have && have.shape.join(',') !== t.shape.join(',')) throw new Error(`setWeights: '${name}' shape differs`);
      this.weights.set(name, { shape: [...t.shape], data: t.data });
    }
  }

  async release(): Promise<void> {
    for (const c of this.cache.values()) await (await c).graph.release();
    for (const c of this.evalCache.values()) await (await c).release();
    this.cache.clear();
    this.evalCache.clear();
  }
}

/** Creates a trainer; compiles for `config.batch` right away when given. */
export async function compileTrainStep(config: TrainStepConfig): Promise<Trainer> {
  const t = new Trainer(config);
  if (config.batch) await t.compile(config.batch);
  return t;
}
