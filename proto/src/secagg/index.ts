/** Secure aggregation, shared by the site agent (masking) and the coordinator (unmasking the sum). */
export * from './keys';
export * from './graph';
export * from './prg';
export * from './quantise';
export * from './protocol';
export * from './masked-update';
