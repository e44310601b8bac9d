/**
 * Where errors become gRPC status codes. Handlers call `toServiceError` on whatever they caught;
 * the status of a domain error comes from its kind (common/errors.ts, shared with HTTP); anything
 * unexpected is a bug: logged with its stack and answered as INTERNAL without details.
 */
import { Logger } from '@nestjs/common';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DomainError, ERROR_STATUS, MAX_ERROR_MESSAGE_CHARS } from '../common/errors';
import { asDomainError } from '../common/error-kinds';
import { databaseFailureSummary } from '../database/database-errors';
import { truncateCodePoints } from '../common/text';

const log = new Logger('gRPC');

export function serviceError(code: status, details: string): ServiceError {
  const bounded = details.length > MAX_ERROR_MESSAGE_CHARS ? `${truncateCodePoints(details, MAX_ERROR_MESSAGE_CHARS)}…` : details;
  return Object.assign(new Error(bounded), { code, details: bounded, metadata: new Metadata() });
}

export function toServiceError(e: unknown, method: string): ServiceError {
  const domain = asDomainError(e);
  if (domain) {
    // A busy database answered as UNAVAILABLE (database-errors.ts): the operator still sees what it was.
    if (domain.kind === 'unavailable' && !(e instanceof DomainError)) log.warn(`${method} answered UNAVAILABLE: ${databaseFailureSummary(e)}`);
    return serviceError(ERROR_STATUS[domain.kind].grpc, domain.message);
  }
  // The site went away in the middle of a stream (cancelled, disconnected): its fault, not ours.
  if ((e as { code?: unknown })?.code === 'ERR_STREAM_PREMATURE_CLOSE') return serviceError(status.CANCELLED, `${method}: the call ended before its stream was complete`);
  const grpcLike = e as Partial<ServiceError>;
  if (typeof grpcLike?.code === 'number' && typeof grpcLike.details === 'string') return serviceError(grpcLike.code, grpcLike.details);
  log.error(`${method} failed: ${(e as Error)?.stack ?? e}`);
  return serviceError(status.INTERNAL, `${method} failed inside the coordinator (a bug; see its log)`);
}
