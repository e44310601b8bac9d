import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/tokens';
import { DomainError } from '../common/errors';

/** Calls a site may make per minute, per kind of call (a token bucket each, refilled continuously). */
const PER_MINUTE: Record<string, number> = {
  enroll: 30,
  heartbeat: 240,
  getTask: 240,
  getUploadStatus: 240,
  reportEvaluation: 120,
  reportProgress: 1200,
  download: 120,
  upload: 120,
};

/**
 * Per-site rate limits, so one misbehaving or compromised site cannot flood the coordinator. A
 * refused call gets RESOURCE_EXHAUSTED with the time to wait.
 */
@Injectable()
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(@Inject(CLOCK) private readonly clock: Clock) {}

  take(who: string, method: string): void {
    const capacity = PER_MINUTE[method] ?? 60;
    const key = `${who}\u0000${method}`;
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * capacity) / 60_000);
    bucket.at = now;
    if (bucket.tokens < 1) {
      const waitMs = Math.ceil(((1 - bucket.tokens) * 60_000) / capacity);
      this.buckets.set(key, bucket);
      throw new DomainError('too-many', `${who} exceeded ${capacity} ${method} calls per minute; retry in ${waitMs} ms`);
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
  }
}
