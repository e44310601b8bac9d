// Roles and what they may do. Deny by default: an unknown role or action is never allowed.

export const ROLES = ['admin', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Actions of the REST API and console. 'read' covers every read-only view (roster, steps, rounds,
 * sites, models, evaluation reports); the audit log has its own action.
 */
export const ACTIONS = [
  'read',
  'audit:read',
  'roster:write',
  'steps:write',
  'rounds:write',
  'sites:write',
  'certificates:write',
  'models:write',
  'users:write',
] as const;
export type Action = (typeof ACTIONS)[number];

const PERMISSIONS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set<Action>(ACTIONS),
  viewer: new Set<Action>(['read']),
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value);
}

/** True when `role` may perform `action`; false for anything unknown. */
export function can(role: Role | string | null | undefined, action: Action | string): boolean {
  return isRole(role) && isAction(action) && PERMISSIONS[role].has(action);
}

/** `role` is not allowed to perform `action` (map to HTTP 403). */
export class ForbiddenError extends Error {
  readonly status = 403;
  constructor(
    readonly role: string | null | undefined,
    readonly action: string,
  ) {
    super(`role ${JSON.stringify(role ?? null)} may not perform ${JSON.stringify(action)}`);
    this.name = 'ForbiddenError';
  }
}

/** Throws ForbiddenError unless can(role, action). */
export function assertCan(role: Role | string | null | undefined, action: Action | string): void {
  if (!can(role, action)) throw new ForbiddenError(role, action);
}
