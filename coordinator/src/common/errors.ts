/**
 * Domain errors. Services throw these; the REST layer and the gRPC layer each map them to their
 * own status codes in one place (http-errors.filter.ts, federation/grpc-status.ts).
 */
export type DomainErrorKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'unauthenticated' | 'too-many' | 'unavailable';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(readonly kind: DomainErrorKind, message: string) {
    super(message);
  }
}

export const invalid = (m: string) => new DomainError('invalid', m);
export const notFound = (m: string) => new DomainError('not-found', m);
export const conflict = (m: string) => new DomainError('conflict', m);
export const forbidden = (m: string) => new DomainError('forbidden', m);
