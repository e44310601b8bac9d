import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { AggregationStateError } from './errors';
import type { ServerOptimizerState } from './types';

/**
 * Server-optimizer state as bytes for the model store / database: one safetensors file with the
 * moments as `m/<tensor>` and `v/<tensor>`, the strategy and step in its metadata. Any safetensors
 * reader can inspect it.
 */
export function encodeServerState(state: ServerOptimizerState): Buffer {
  const all: NamedTensors = new Map();
  for (const [name, t] of state.m) all.set(`m/${name}`, t);
  for (const [name, t] of state.v) all.set(`v/${name}`, t);
  return encodeSafetensors(all, { kind: 'fedciss.server-optimizer-state', strategy: state.strategy, step: String(state.step) });
}

export function decodeServerState(blob: Uint8Array): ServerOptimizerState {
  const { tensors, metadata } = decodeSafetensors(blob);
  const strategy = metadata.strategy;
  const step = Number(metadata.step);
  if (metadata.kind !== 'fedciss.server-optimizer-state' || (strategy !== 'fedadam' && strategy !== 'fedyogi')) {
    throw new AggregationStateError(`not a server-optimizer state (kind ${metadata.kind}, strategy ${strategy})`);
  }
  if (!Number.isInteger(step) || step < 0) throw new AggregationStateError(`server-optimizer state has a bad step ${metadata.step}`);
  const m: NamedTensors = new Map();
  const v: NamedTensors = new Map();
  for (const [key, t] of tensors) {
    const slash = key.indexOf('/');
    const which = key.slice(0, slash);
    const name = key.slice(slash + 1);
    if (which === 'm') m.set(name, t);
    else if (which === 'v') v.set(name, t);
    else throw new AggregationStateError(`server-optimizer state has an unexpected tensor '${key}'`);
  }
  return { strategy, step, m, v };
}
