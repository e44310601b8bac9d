/**
 * Domain errors. Services throw these with a kind; the kind alone decides the gRPC status and the
 * HTTP status, in the one table below (federation/grpc-status.ts and http/domain-errors.filter.ts
 * only look it up). Anything else that reaches those two places is a bug: INTERNAL / 500.
 */
import { status } from '@grpc/grpc-js';

export type DomainErrorKind =
  | 'invalid' // the caller's input is wrong: say which field and why
  | 'too-large' // a size bound was exceeded
  | 'not-found'
  | 'conflict' // the input is fine but the state does not allow it now
  | 'forbidden'
  | 'unauthenticated'
  | 'too-many' // a rate or a count limit
  | 'unavailable'; // not ready yet / a dependency is away: worth retrying later

export const ERROR_STATUS: Readonly<Record<DomainErrorKind, { grpc: status; http: number }>> = {
  invalid: { grpc: status.INVALID_ARGUMENT, http: 400 },
  'too-large': { grpc: status.RESOURCE_EXHAUSTED, http: 413 },
  'not-found': { grpc: status.NOT_FOUND, http: 404 },
  conflict: { grpc: status.FAILED_PRECONDITION, http: 409 },
  forbidden: { grpc: status.PERMISSION_DENIED, http: 403 },
  unauthenticated: { grpc: status.UNAUTHENTICATED, http: 401 },
  'too-many': { grpc: status.RESOURCE_EXHAUSTED, http: 429 },
  unavailable: { grpc: status.UNAVAILABLE, http: 503 },
};

/** Error messages never grow past this (a caller's value is quoted, never echoed whole). */
export const MAX_ERROR_MESSAGE_CHARS = 1000;

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(readonly kind: DomainErrorKind, message: string) {
    super(message);
  }
}

export const invalid = (m: string) => new DomainError('invalid', m);
export const tooLarge = (m: string) => new DomainError('too-large', m);
export const notFound = (m: string) => new DomainError('not-found', m);
export const conflict = (m: string) => new DomainError('conflict', m);
export const forbidden = (m: string) => new DomainError('forbidden', m);
export const tooMany = (m: string) => new DomainError('too-many', m);
