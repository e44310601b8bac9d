// Deny by default: every REST route is either marked @Public() or given an action (@Requires), and
// the public ones are exactly the few that must be (signing in and out, the health check). A route
// added without either fails this test; at run time the guard refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CONTROLLERS } from '../app.module';
import { ACTION_METADATA, AuthGuard, PUBLIC_METADATA } from './auth.guard';
import { isAction } from '../auth/roles';
import type { AdminAuthService } from '../auth/admin-auth.service';
import { DomainError } from '../common/errors';

interface Route {
  route: string;
  handler: (...args: unknown[]) => unknown;
  controller: new (...args: never[]) => unknown;
}

function routes(): Route[] {
  const out: Route[] = [];
  for (const controller of CONTROLLERS) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = controller.prototype[name as keyof typeof controller.prototype] as unknown as Route['handler'];
      if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      out.push({ route: `${method} /${base}/${String(Reflect.getMetadata(PATH_METADATA, handler))}`.replace(/\/+$/, '').replace(/\/\/+/g, '/'), handler, controller });
    }
  }
  return out;
}

test('every REST route is public by mark or needs an action; the public ones are listed here', () => {
  const all = routes();
  assert.ok(all.length >= 25, `found only ${all.length} routes`);
  const unmarked = all.filter((r) => !Reflect.getMetadata(PUBLIC_METADATA, r.handler) && !Reflect.getMetadata(ACTION_METADATA, r.handler) && !Reflect.getMetadata(ACTION_METADATA, r.controller));
  assert.deepEqual(unmarked.map((r) => r.route), [], 'routes neither @Public() nor @Requires(action)');
  const badAction = all.filter((r) => Reflect.getMetadata(ACTION_METADATA, r.handler) !== undefined && !isAction(Reflect.getMetadata(ACTION_METADATA, r.handler)));
  assert.deepEqual(badAction.map((r) => r.route), []);
  const open = all.filter((r) => Reflect.getMetadata(PUBLIC_METADATA, r.handler)).map((r) => r.route).sort();
  assert.deepEqual(open, ['GET /api/health', 'GET /healthz', 'GET /metrics', 'GET /readyz', 'POST /api/auth/sign-in', 'POST /api/auth/sign-out']);
});

test('the guard refuses a route with no mark, and lets a public one through without a session', async () => {
  const auth = { resolve: async () => null } as unknown as AdminAuthService;
  const guard = new AuthGuard(new Reflector(), auth);
  class Probe {
    unmarked() {}
    open() {}
  }
  Reflect.defineMetadata(PUBLIC_METADATA, true, Probe.prototype.open);
  const ctx = (handler: () => void) => ({
    getType: () => 'http',
    getHandler: () => handler,
    getClass: () => Probe,
    switchToHttp: () => ({ getRequest: () => ({ body: {}, headers: {} }) }),
  }) as unknown as ExecutionContext;
  await assert.rejects(guard.canActivate(ctx(Probe.prototype.unmarked)), (e: unknown) => e instanceof DomainError && e.kind === 'forbidden' && /closed by default/.test(e.message));
  assert.equal(await guard.canActivate(ctx(Probe.prototype.open)), true);
});
