/**
 * Reconnect delays: a quick first retry, then exponential backoff with full jitter.
 *
 * Attempt 0 waits a uniformly random time in `[0, firstMs]`: most drops are a
 * server restarting or a network blip, and a short restart should not cost a
 * long wait (the randomness still spreads thousands of clients). Attempt
 * `n >= 1` waits a uniformly random time between `minMs` and
 * `min(maxMs, minMs * 2^n)`: full jitter spreads the reconnects of many
 * clients after a server restart instead of having them all arrive at once,
 * and the floor keeps a flapping server from being hammered. `reset()` after
 * a connection has stayed up for a while starts again from the quick retry.
 */

export interface BackoffOptions {
  /** Longest first retry (default 250 ms; the first retry waits a random share of it). */
  firstMs?: number;
  /** Shortest later delay, and the base of the exponent (default 500 ms). */
  minMs?: number;
  /** Longest delay (default 20 s). */
  maxMs?: number;
  /** Source of randomness in [0, 1) (default `Math.random`; tests pass their own). */
  random?: () => number;
}

export const DEFAULT_FIRST_MS = 250;
export const DEFAULT_MIN_MS = 500;
export const DEFAULT_MAX_MS = 20_000;

/** The delay before reconnect attempt `attempt` (0-based), given a random number in [0, 1). */
export function backoffDelay({
  attempt,
  firstMs = DEFAULT_FIRST_MS,
  minMs = DEFAULT_MIN_MS,
  maxMs = DEFAULT_MAX_MS,
  random,
}: {
  attempt: number;
  firstMs?: number;
  minMs?: number;
  maxMs?: number;
  random: number;
}): number {
  if (attempt <= 0) return random * Math.min(firstMs, maxMs);
  // 2 ** attempt overflows to Infinity long before it matters; min() caps it.
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return minMs + random * (ceiling - minMs);
}

export class Backoff {
  private attempt = 0;
  private readonly firstMs: number;
  private readonly minMs: number;
  readonly maxMs: number;
  readonly random: () => number;

  constructor({
    firstMs = DEFAULT_FIRST_MS,
    minMs = DEFAULT_MIN_MS,
    maxMs = DEFAULT_MAX_MS,
    random = Math.random,
  }: BackoffOptions = {}) {
    if (!(minMs > 0) || !(maxMs >= minMs) || !(firstMs >= 0)) {
      throw new RangeError(
        `Backoff needs 0 <= firstMs, 0 < minMs <= maxMs, got firstMs=${firstMs} minMs=${minMs} maxMs=${maxMs}.`,
      );
    }
    this.firstMs = firstMs;
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt (at most `capMs`, when given); each call moves one attempt further. */
  next(capMs?: number): number {
    const delay = backoffDelay({
      attempt: this.attempt,
      firstMs: this.firstMs,
      minMs: this.minMs,
      maxMs: capMs === undefined ? this.maxMs : Math.max(this.minMs, Math.min(capMs, this.maxMs)),
      random: this.random(),
    });
    this.attempt += 1;
    return delay;
  }

  /** Skip the quick first retry (after a close that says retrying at once would not help). */
  skipFirst(): void {
    if (this.attempt === 0) this.attempt = 1;
  }

  /** Start again from the quick first retry (after a stable connection). */
  reset(): void {
    this.attempt = 0;
  }
}
