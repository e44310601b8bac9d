/**
 * The one place where errors become gRPC status codes. Handlers call `toServiceError` on whatever
 * they caught; anything unexpected is logged and answered as INTERNAL without leaking details.
 */
import { Logger } from '@nestjs/common';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { TransferError } from '@fedciss/proto';
import { DomainError, type DomainErrorKind } from '../common/errors';

const CODES: Record<DomainErrorKind, status> = {
  invalid: status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.FAILED_PRECONDITION,
  forbidden: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  'too-many': status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
};

const log = new Logger('gRPC');

export function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

export function toServiceError(e: unknown, method: string): ServiceError {
  if (e instanceof DomainError) return serviceError(CODES[e.kind], e.message);
  if (e instanceof TransferError) return serviceError(status.INVALID_ARGUMENT, e.message);
  // The site went away in the middle of a stream (cancelled, disconnected): its fault, not ours.
  if ((e as { code?: unknown })?.code === 'ERR_STREAM_PREMATURE_CLOSE') return serviceError(status.CANCELLED, `${method}: the call ended before its stream was complete`);
  const grpcLike = e as Partial<ServiceError>;
  if (typeof grpcLike?.code === 'number' && typeof grpcLike.details === 'string') return serviceError(grpcLike.code, grpcLike.details);
  log.error(`${method} failed: ${(e as Error)?.stack ?? e}`);
  return serviceError(status.INTERNAL, `${method} failed inside the coordinator; see its log`);
}
