/** Injection tokens for providers that are interfaces or plain values. */
export const CONFIG = Symbol('CoordinatorConfig');
export const BLOB_STORE = Symbol('BlobStore');
export const MODEL_FACTORY = Symbol('ModelFactory');
export const CLOCK = Symbol('Clock');

/** Time as a dependency, so round deadlines can be tested without waiting. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };
