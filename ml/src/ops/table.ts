import type { OpKind } from './kinds';
import type { OpRule } from './types';
import { sourceRules } from './sources';
import { elementwiseRules } from './elementwise';
import { layoutRules } from './layout';
import { reduceRules } from './reduce';
import { linalgRules } from './linalg';
import { convRules } from './conv';
import { poolRules } from './pool';
import { resizeRules } from './resize';
import { normRules } from './norm';

/** The one table of primitives: the compiler checks (by this type) that every OpKind has a rule. */
export const OPS: Record<OpKind, OpRule> = {
  ...sourceRules,
  ...elementwiseRules,
  ...layoutRules,
  ...reduceRules,
  ...linalgRules,
  ...convRules,
  ...poolRules,
  ...resizeRules,
  ...normRules,
};
