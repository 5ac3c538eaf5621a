/**
 * How fast the client may talk to IBKR: the per-token rate limit, the backoff between polls, and
 * the wait after a 1018 (contract §1.3–1.4). Time comes from an injected {@link Clock}, so tests
 * run a ten-minute schedule in microseconds and assert every wait exactly.
 */

/** Time for the client: what time it is, and a way to let time pass. */
export interface Clock {
  /** Milliseconds on a monotonic timeline. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** IBKR's limit per token (§1.3 under 1018): 1 request/s and 10 requests/min. */
export interface RateLimit {
  readonly minIntervalMs: number;
  readonly perMinute: number;
  /**
   * Added to both limits. IBKR counts a call when it arrives, we when we send it: a call that
   * travels faster than the one before it (a reused connection) would otherwise arrive early.
   */
  readonly marginMs: number;
}

export const IBKR_RATE_LIMIT: RateLimit = { minIntervalMs: 1000, perMinute: 10, marginMs: 250 };

const MINUTE_MS = 60_000;

/**
 * Keeps one process's calls within a token's rate limit: SendRequest and GetStatement alike,
 * across every statement and window of a run. A sliding log of the calls made, per token.
 *
 * @example
 * const limiter = new TokenRateLimiter(clock);
 * await limiter.acquire(token); // returns at once
 * await limiter.acquire(token); // returns after 1.25 s of clock time (1 s + the margin)
 */
export class TokenRateLimiter {
  readonly #calls = new Map<string, number[]>();

  constructor(readonly clock: Clock, readonly limit: RateLimit = IBKR_RATE_LIMIT) {}

  /** When the next call with `token` may be made, on the clock's timeline. */
  nextAllowedAt(token: string): number {
    const now = this.clock.now();
    const recent = this.#recent(token, now);
    let at = now;
    const last = recent.at(-1);
    const margin = this.limit.marginMs;
    if (last !== undefined) at = Math.max(at, last + this.limit.minIntervalMs + margin);
    if (recent.length >= this.limit.perMinute) {
      // The call that must leave the minute before another may enter.
      at = Math.max(at, recent[recent.length - this.limit.perMinute] + MINUTE_MS + margin);
    }
    return at;
  }

  /** Waits until a call is allowed, then records it; returns how long it waited. */
  async acquire(token: string): Promise<number> {
    const wait = this.nextAllowedAt(token) - this.clock.now();
    if (wait > 0) await this.clock.sleep(wait);
    const now = this.clock.now();
    this.#recent(token, now).push(now);
    return Math.max(0, wait);
  }

  #recent(token: string, now: number): number[] {
    const kept = (this.#calls.get(token) ?? []).filter((t) =>
      now - t < MINUTE_MS + this.limit.marginMs
    );
    this.#calls.set(token, kept);
    return kept;
  }
}

/** The schedule of waits between polls. */
export interface Backoff {
  /** The first wait; each next one doubles. */
  readonly baseMs: number;
  readonly capMs: number;
  /** ± this fraction of each wait, at random, so two clients do not poll in step. */
  readonly jitter: number;
}

/** 5, 10, 20, 30, 30… s with ±20 % jitter (contract §1.4). */
export const DEFAULT_BACKOFF: Backoff = { baseMs: 5_000, capMs: 30_000, jitter: 0.2 };

/** The least a 1018 "too many requests" waits (contract §1.3). */
export const THROTTLED_MIN_MS = 10_000;

/**
 * The wait before retry number `retry` (0 for the first retry).
 *
 * @example
 * backoffDelay(0, DEFAULT_BACKOFF, () => 0.5); // 5000
 * backoffDelay(5, DEFAULT_BACKOFF, () => 0.5); // 30000 (capped)
 */
export function backoffDelay(retry: number, backoff: Backoff, random: () => number): number {
  const plain = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.max(0, retry));
  return Math.round(plain * (1 - backoff.jitter + 2 * backoff.jitter * random()));
}

/**
 * The wait after a 1018: never less than 10 s, the jitter only adds.
 *
 * @example
 * throttledDelay(DEFAULT_BACKOFF, () => 0); // 10000
 */
export function throttledDelay(backoff: Backoff, random: () => number): number {
  return Math.round(THROTTLED_MIN_MS * (1 + 2 * backoff.jitter * random()));
}
