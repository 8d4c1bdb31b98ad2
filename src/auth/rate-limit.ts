import { AppError } from '../errors.js';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * One token bucket per key: up to `burst` actions at once, refilled at `perSecond`. Keys are
 * configured token ids, so the map stays as small as the token list.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one action from the key's bucket, or throws RATE_LIMITED saying when one is available. */
  take(key: string): void {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.ceil((1 - bucket.tokens) / this.perSecond);
      throw new AppError('RATE_LIMITED', `Too many requests for this token; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    bucket.tokens -= 1;
  }
}
