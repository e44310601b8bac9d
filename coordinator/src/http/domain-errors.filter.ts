import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { DomainError, ERROR_STATUS } from '../common/errors';
import { asDomainError } from '../common/error-kinds';
import { databaseFailureSummary } from '../database/database-errors';
import { truncateCodePoints } from '../common/text';

/** Seconds a client is asked to wait before trying again after a 503 (a busy database, a standby coordinator). */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Where errors become HTTP answers, `{statusCode, error, message}`: a domain error's status comes
 * from its kind (common/errors.ts); a 503 says when to try again (Retry-After).
 */
@Catch()
export class DomainErrorsFilter implements ExceptionFilter {
  private readonly log = new Logger('HTTP');

  catch(e: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (res.headersSent) return;
    const domain = asDomainError(e);
    if (domain) {
      const code = ERROR_STATUS[domain.kind].http;
      if (domain.kind === 'unavailable') {
        res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
        // A busy database answered as 503 (database-errors.ts): the operator still sees what it was.
        if (!(e instanceof DomainError)) this.log.warn(`answered 503: ${databaseFailureSummary(e)}`);
      }
      res.status(code).json({ statusCode: code, error: domain.kind, message: domain.message });
      return;
    }
    if (e instanceof HttpException) {
      const body = e.getResponse();
      res.status(e.getStatus()).json(typeof body === 'string' ? { statusCode: e.getStatus(), message: body } : body);
      return;
    }
    // Errors of Express's body parser (http-errors: malformed JSON, body too large, wrong charset)
    // are the client's: answer their own 4xx status instead of a 500.
    const clientError = e as { status?: unknown; expose?: unknown; message?: unknown; type?: unknown };
    if (typeof clientError?.status === 'number' && clientError.status >= 400 && clientError.status < 500 && clientError.expose === true) {
      res.status(clientError.status).json({ statusCode: clientError.status, error: String(clientError.type ?? 'bad-request'), message: truncateCodePoints(String(clientError.message), 200) });
      return;
    }
    this.log.error((e as Error)?.stack ?? String(e));
    res.status(500).json({ statusCode: 500, error: 'internal', message: 'internal error; see the coordinator log' });
  }
}
