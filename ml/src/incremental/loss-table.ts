/** The shape of a loss-term table (the way ml/src/ops/types.ts is the shape of an op rule): each
 * term is one entry with its weight, what it needs, its graph inputs per batch and its graph
 * builder, and a training loop turns a table into the Trainer's model, loss weights and feeds.
 * The tables themselves: local-loss-terms.ts (a site's training), distill-loss-terms.ts (the server's). */
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import type { TensorValue } from '../runtime/session';
import type { SegmenterOutputs } from '../segmentation/network';
import type { ModelOutputs } from '../train/trainer';

/** One term of a training objective. `Setup` is what the loop knows for the whole run, `Batch`
 * what it knows about one batch; `Input` names the term's graph inputs. */
export interface LossTerm<Setup, Batch, Input extends string = string> {
  /** Its weight in the minimised sum; 0 leaves it out of the graph. */
  readonly weight: (s: Setup) => number;
  /** When it can run at all (e.g. output distillation needs a teacher); default always. */
  readonly applies?: (s: Setup) => boolean;
  /** Its graph inputs for one batch, by name (fed as `${term}:${name}`). */
  readonly feeds?: (s: Setup, b: Batch) => Readonly<Record<Input, TensorValue>>;
  /** Its scalar loss from the network's outputs and its inputs, with a tensor to read back after
   * each step when it has an `after`. */
  readonly build: (s: Setup, net: SegmenterOutputs, input: (name: Input) => Tensor, g: Graph) => Tensor | LossWithOutput;
  /** Called after each step with the read-back tensor and the batch's inputs (e.g. to update a memory). */
  readonly after?: (s: Setup, output: TensorValue, fed: Readonly<Record<Input, TensorValue>>) => void;
}

export interface LossWithOutput {
  readonly loss: Tensor;
  readonly output: Tensor;
}

/** Checks one entry against the table's Setup and Batch while keeping its own input names. */
export function lossTerm<Setup, Batch, Input extends string>(t: LossTerm<Setup, Batch, Input>): LossTerm<Setup, Batch> {
  return t;
}

/** The terms of a table that run: weight > 0 and applicable, in the table's order (the order of
 * the weighted sum). */
export class ActiveLossTerms<Key extends string, Setup, Batch> {
  readonly terms: readonly (readonly [Key, LossTerm<Setup, Batch>])[];

  constructor(table: Readonly<Record<Key, LossTerm<Setup, Batch>>>, private readonly setup: Setup, what: string) {
    const entries = Object.entries(table) as [Key, LossTerm<Setup, Batch>][];
    this.terms = entries.filter(([, t]) => t.weight(setup) > 0 && (t.applies?.(setup) ?? true));
    if (!this.terms.length) throw new Error(`${what}: every loss weight is 0`);
  }

  has(key: Key): boolean {
    return this.terms.some(([k]) => k === key);
  }

  /** The Trainer's loss weights, by term. */
  weights(): Record<string, number> {
    return Object.fromEntries(this.terms.map(([k, t]) => [k, t.weight(this.setup)]));
  }

  /** The Trainer's model: the network, then each term's loss (and read-back output) from its inputs. */
  model(net: (g: Graph, image: Tensor) => SegmenterOutputs): (g: Graph, b: Readonly<Record<string, Tensor>>) => ModelOutputs {
    return (g, b) => {
      const out = net(g, b.image);
      const losses: Record<string, Tensor> = {};
      const outputs: Record<string, Tensor> = {};
      for (const [key, t] of this.terms) {
        const input = (name: string) => {
          const x = b[`${key}:${name}`];
          if (!x) throw new Error(`loss term '${key}' has no input '${name}' (its feeds did not give it)`);
          return x;
        };
        const built = t.build(this.setup, out, input, g);
        if ('loss' in built) {
          losses[key] = built.loss;
          outputs[key] = built.output;
        } else losses[key] = built;
      }
      return { losses, outputs };
    };
  }

  /** Every term's inputs for one batch, named for the graph, and each term's own (for `after`). */
  feeds(b: Batch): { graph: Record<string, TensorValue>; byTerm: Map<Key, Readonly<Record<string, TensorValue>>> } {
    const graph: Record<string, TensorValue> = {};
    const byTerm = new Map<Key, Readonly<Record<string, TensorValue>>>();
    for (const [key, t] of this.terms) {
      const fed = t.feeds?.(this.setup, b) ?? {};
      byTerm.set(key, fed);
      for (const [name, v] of Object.entries(fed)) graph[`${key}:${name}`] = v;
    }
    return { graph, byTerm };
  }

  /** Hands each term its read-back output after a step. */
  after(outputs: Readonly<Record<string, TensorValue>>, byTerm: Map<Key, Readonly<Record<string, TensorValue>>>): void {
    for (const [key, t] of this.terms) {
      const o = outputs[key];
      if (t.after && o) t.after(this.setup, o, byTerm.get(key) ?? {});
    }
  }
}
