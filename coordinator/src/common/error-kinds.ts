/**
 * Errors of the libraries the coordinator uses that are not bugs, as domain errors: the caller's
 * fault (a malformed transfer, a malformed safetensors file, a CSR that cannot be signed,
 * aggregation options out of range) or a transient database failure (database-errors.ts). Used by
 * both status mappers, so gRPC and HTTP agree.
 */
import { SafetensorsError } from '@fedciss/ml';
import { TransferError } from '@fedciss/proto';
import { CsrRejectedError } from '../pki/errors';
import { InvalidAggregationOptionsError } from '../aggregation/errors';
import { transientDatabaseError } from '../database/database-errors';
import { DomainError, MAX_ERROR_MESSAGE_CHARS } from './errors';
import { truncateCodePoints } from './text';

export function asDomainError(e: unknown): DomainError | undefined {
  let found: DomainError | undefined;
  if (e instanceof DomainError) found = e;
  else if (e instanceof TransferError || e instanceof SafetensorsError || e instanceof CsrRejectedError || e instanceof InvalidAggregationOptionsError) {
    found = new DomainError('invalid', e.message);
  } else found = transientDatabaseError(e);
  if (found && found.message.length > MAX_ERROR_MESSAGE_CHARS) return new DomainError(found.kind, `${truncateCodePoints(found.message, MAX_ERROR_MESSAGE_CHARS)}…`);
  return found;
}
