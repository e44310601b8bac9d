import { InvalidAggregationOptionsError } from './errors';
import { createFedAdam, createFedYogi } from './strategies/fedopt';
import { createFedAvg } from './strategies/fedavg';
import { createFedProx } from './strategies/fedprox';
import { createMedian, createTrimmedMean } from './strategies/robust';
import {
  STRATEGY_NAMES,
  type AggregationOptions,
  type AggregationStrategy,
  type ResolvedAggregationOptions,
  type StrategyName,
} from './types';

type OptionKey = Exclude<keyof AggregationOptions, 'strategy' | 'clipNorm'>;

interface StrategyDefinition {
  /** What it does, in the error that names the strategies when a settings file names none of them. */
  readonly description: string;
  /** The strategy-specific keys it reads, with their defaults. */
  readonly defaults: Readonly<Partial<Record<OptionKey, number>>>;
  readonly create: (options: ResolvedAggregationOptions) => AggregationStrategy;
}

// Reddi et al. 2021 tune η per task; β1 = 0.9, β2 = 0.99 and τ = 1e-3 are their common values. With
// this platform's few long rounds both η = 1e-2 and 1e-1 stay far below FedAvg (aggregation/README.md).
const SERVER_OPTIMIZER_DEFAULTS = { eta: 1e-2, beta1: 0.9, beta2: 0.99, tau: 1e-3 } as const;

/** The registry: name → strategy, an explicit typed table (no registration by import side effect). */
export const STRATEGIES: Readonly<Record<StrategyName, StrategyDefinition>> = {
  fedavg: { description: 'sample-weighted mean of the updates, streamed', defaults: {}, create: createFedAvg },
  fedprox: {
    description: 'FedAvg on the server; sites add the proximal term μ/2·‖w − w_global‖²',
    defaults: { proximalMu: 0.01 },
    create: createFedProx,
  },
  fedadam: {
    description: 'Adam server optimizer on the mean delta, Reddi et al. 2021',
    defaults: SERVER_OPTIMIZER_DEFAULTS,
    create: createFedAdam,
  },
  fedyogi: {
    description: 'Yogi server optimizer on the mean delta, Reddi et al. 2021',
    defaults: SERVER_OPTIMIZER_DEFAULTS,
    create: createFedYogi,
  },
  median: { description: 'coordinate-wise median, unweighted, holding every update', defaults: {}, create: createMedian },
  'trimmed-mean': {
    description: 'coordinate-wise trimmed mean, unweighted, holding every update',
    defaults: { trimFraction: 0.1 },
    create: createTrimmedMean,
  },
};

/** Range of each numeric key: [check, description]. */
const RANGES: Record<OptionKey | 'clipNorm', [(x: number) => boolean, string]> = {
  clipNorm: [(x) => x > 0, '> 0'],
  proximalMu: [(x) => x >= 0, '>= 0'],
  eta: [(x) => x > 0, '> 0'],
  beta1: [(x) => x >= 0 && x < 1, 'in [0, 1)'],
  beta2: [(x) => x >= 0 && x < 1, 'in [0, 1)'],
  tau: [(x) => x > 0, '> 0'],
  trimFraction: [(x) => x >= 0 && x < 0.5, 'in [0, 0.5)'],
};

export function isStrategyName(x: unknown): x is StrategyName {
  return typeof x === 'string' && (STRATEGY_NAMES as readonly string[]).includes(x);
}

/**
 * Checks options (from the database, a DTO or a config file: any shape) and fills in defaults.
 * Every problem is collected into one InvalidAggregationOptionsError: unknown strategy, a value
 * that is not a finite number or is out of range, a key the chosen strategy does not use.
 */
export function resolveAggregationOptions(input: unknown): ResolvedAggregationOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidAggregationOptionsError(['options must be an object with a "strategy" key']);
  }
  const raw = input as Record<string, unknown>;
  if (!isStrategyName(raw.strategy)) {
    throw new InvalidAggregationOptionsError([
      `unknown strategy ${JSON.stringify(raw.strategy)}; the strategies: ${STRATEGY_NAMES.map((n) => `${n} (${STRATEGIES[n].description})`).join('; ')}`,
    ]);
  }
  const name = raw.strategy;
  const def = STRATEGIES[name];
  const problems: string[] = [];
  const out: Record<string, unknown> = { strategy: name, clipNorm: null };
  const check = (key: OptionKey | 'clipNorm', value: unknown): number | undefined => {
    const [ok, range] = RANGES[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
      problems.push(`${key} must be a finite number ${range}, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'strategy' || value === undefined) continue;
    if (key === 'clipNorm') {
      if (value !== null) out.clipNorm = check('clipNorm', value);
    } else if (key in def.defaults) {
      out[key] = check(key as OptionKey, value);
    } else if (key in RANGES) {
      problems.push(`${key} is not used by strategy ${name}`);
    } else {
      problems.push(`unknown option ${key}`);
    }
  }
  for (const [key, value] of Object.entries(def.defaults)) if (!(key in raw) || raw[key] === undefined) out[key] = value;
  if (problems.length) throw new InvalidAggregationOptionsError(problems);
  return out as unknown as ResolvedAggregationOptions;
}

/** Validates the options and builds the strategy. Strategies are stateless values: build one per run or share it. */
export function createStrategy(options: AggregationOptions | unknown): AggregationStrategy {
  const resolved = resolveAggregationOptions(options);
  return STRATEGIES[resolved.strategy].create(resolved);
}
