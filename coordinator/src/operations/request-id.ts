/**
 * Every HTTP request gets an id: the caller's `X-Request-Id` when it is a sane token (a proxy's
 * id, so the lines correlate across hops), else a fresh UUID. The id is sent back in the response
 * header, attached to every line logged while the request is handled, and logged with the outcome.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { requestContext, type CoordinatorLogger } from './logger';

const SANE_ID = /^[A-Za-z0-9._:-]{8,128}$/;
/** Probes and scrapes come every few seconds: logged at debug, not at info. */
const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

export function requestIdMiddleware(logger: CoordinatorLogger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      requestContext.run({ requestId }, () =>
        logger.event(QUIET.has(req.path) ? 'debug' : res.statusCode >= 500 ? 'error' : 'log', 'HTTP', `${req.method} ${req.path} ${res.statusCode}`, {
          method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10,
        }),
      );
    });
    requestContext.run({ requestId }, next);
  };
}
