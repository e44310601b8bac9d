import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AdminAuthService, type Principal } from '../auth/admin-auth.service';
import { can, type Action } from '../auth/roles';
import { DomainError } from '../common/errors';
import { parseBearerToken } from '../auth/sessions';

const ACTION = 'fedciss:action';
export const SESSION_COOKIE = 'fedciss_session';

/** What a route needs: `@Requires('roster:write')`; routes without it are public. */
export const Requires = (action: Action) => SetMetadata(ACTION, action);

/** The signed-in user of a guarded route. */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest<Request & { principal: Principal }>().principal);

export function tokenOf(req: Request): string | null {
  const bearer = parseBearerToken(req.headers.authorization);
  if (bearer) return bearer;
  const cookie = req.headers.cookie?.split(';').map((c) => c.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return cookie ? decodeURIComponent(cookie.slice(SESSION_COOKIE.length + 1)) : null;
}

/** Resolves the session (bearer token or cookie) and checks the route's action against the role. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector, private readonly auth: AdminAuthService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const action = this.reflector.getAllAndOverride<Action | undefined>(ACTION, [ctx.getHandler(), ctx.getClass()]);
    if (!action) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const principal = await this.auth.resolve(tokenOf(req));
    if (!principal) throw new DomainError('unauthenticated', 'sign in first (no valid session)');
    if (!can(principal.role, action)) throw new DomainError('forbidden', `role ${principal.role} may not ${action}`);
    req.principal = principal;
    return true;
  }
}
