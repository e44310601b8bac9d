import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AdminAuthService, type Principal } from '../auth/admin-auth.service';
import { can, type Action } from '../auth/roles';
import { DomainError } from '../common/errors';
import { parseBearerToken } from '../auth/sessions';

export const ACTION_METADATA = 'fedciss:action';
export const PUBLIC_METADATA = 'fedciss:public';
export const SESSION_COOKIE = 'fedciss_session';

/** What a route needs: `@Requires('roster:write')`. Deny by default: a route with neither this nor @Public() is refused. */
export const Requires = (action: Action) => SetMetadata(ACTION_METADATA, action);

/** A route anyone may call without a session (sign-in, health). */
export const Public = () => SetMetadata(PUBLIC_METADATA, true);

/** The signed-in user of a guarded route. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<Request & { principal: Principal }>().principal);

export function tokenOf(req: Request): string | null {
  const bearer = parseBearerToken(req.headers.authorization);
  if (bearer) return bearer;
  const cookie = req.headers.cookie?.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) return null;
  try {
    return decodeURIComponent(cookie.slice(SESSION_COOKIE.length + 1));
  } catch {
    return null; // a malformed %-escape is no session, not a server error
  }
}

/** No request body of the API nests deeper than a few levels; 32 leaves room. */
export const MAX_BODY_DEPTH = 32;

/** How deeply `value` nests arrays and objects, counting no further than `limit` + 1 (iterative: no recursion). */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > limit) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Resolves the session (bearer token or cookie) and checks the route's action against the role; unmarked routes are refused. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector, private readonly auth: AdminAuthService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    // Guards run before the validation pipe, whose transformer recurses without a limit: a deeply
    // nested body would overflow the stack there (a 500) instead of being refused here (a 400).
    const body = ctx.getType() === 'http' ? ctx.switchToHttp().getRequest<Request>().body : undefined;
    if (nestingDepth(body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) throw new DomainError('invalid', `the request body is nested more than ${MAX_BODY_DEPTH} levels deep`);
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_METADATA, targets)) return true;
    const action = this.reflector.getAllAndOverride<Action | undefined>(ACTION_METADATA, targets);
    // Deny by default: a route someone forgot to mark is closed, not open.
    if (!action) throw new DomainError('forbidden', 'this route is neither public nor given an action: closed by default');
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const principal = await this.auth.resolve(tokenOf(req));
    if (!principal) throw new DomainError('unauthenticated', 'sign in first (no valid session)');
    if (!can(principal.role, action)) throw new DomainError('forbidden', `role ${principal.role} may not ${action}`);
    req.principal = principal;
    return true;
  }
}
