import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidAggregationOptionsError } from './errors';
import { createStrategy, resolveAggregationOptions } from './registry';
import { STRATEGY_NAMES } from './types';

describe('strategy registry', () => {
  it('builds every strategy by name with defaults filled in', () => {
    for (const name of STRATEGY_NAMES) assert.equal(createStrategy({ strategy: name }).name, name);
    assert.deepEqual(resolveAggregationOptions({ strategy: 'fedadam' }), {
      strategy: 'fedadam',
      clipNorm: null,
      eta: 0.01,
      beta1: 0.9,
      beta2: 0.99,
      tau: 0.001,
    });
    assert.deepEqual(resolveAggregationOptions({ strategy: 'trimmed-mean', trimFraction: 0.25, clipNorm: 3 }), {
      strategy: 'trimmed-mean',
      clipNorm: 3,
      trimFraction: 0.25,
    });
  });

  it('rejects unknown strategies, bad values and keys the strategy does not use, all at once', () => {
    // The error names every strategy with what it does, so a typo is mended from the message alone.
    assert.throws(() => resolveAggregationOptions({ strategy: 'krum' }), (e: Error) => {
      assert.match(e.message, /unknown strategy "krum"; the strategies: fedavg \(sample-weighted mean of the updates, streamed\); fedprox \(/);
      for (const name of STRATEGY_NAMES) assert.ok(e.message.includes(`${name} (`), name);
      return true;
    });
    assert.throws(() => resolveAggregationOptions(null), InvalidAggregationOptionsError);
    try {
      resolveAggregationOptions({ strategy: 'fedyogi', beta1: 1, tau: -1, eta: Number.NaN, proximalMu: 0.1, colour: 'red', clipNorm: 0 });
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof InvalidAggregationOptionsError);
      assert.equal(e.problems.length, 6, e.message);
      assert.match(e.message, /beta1 must be a finite number in \[0, 1\), got 1/);
      assert.match(e.message, /proximalMu is not used by strategy fedyogi/);
      assert.match(e.message, /unknown option colour/);
      assert.match(e.message, /clipNorm must be a finite number > 0/);
    }
    assert.throws(() => resolveAggregationOptions({ strategy: 'trimmed-mean', trimFraction: 0.5 }), /trimFraction/);
  });
});
