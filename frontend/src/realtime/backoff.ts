/**
 * Reconnect delays: exponential backoff with full jitter.
 *
 * Attempt `n` (0-based) waits a uniformly random time between `minMs` and
 * `min(maxMs, minMs * 2^n)`. The jitter spreads the reconnects of many
 * clients after a server restart instead of having them all arrive at once;
 * the floor keeps a flapping server from being hammered. `reset()` after a
 * connection has stayed up for a while starts again from the shortest delay.
 */

export interface BackoffOptions {
  /** Shortest delay, and the base of the exponent (default 500 ms). */
  minMs?: number;
  /** Longest delay (default 20 s). */
  maxMs?: number;
  /** Source of randomness in [0, 1) (default `Math.random`; tests pass their own). */
  random?: () => number;
}

export const DEFAULT_MIN_MS = 500;
export const DEFAULT_MAX_MS = 20_000;

/** The delay before reconnect attempt `attempt` (0-based), given a random number in [0, 1). */
export function backoffDelay({
  attempt,
  minMs = DEFAULT_MIN_MS,
  maxMs = DEFAULT_MAX_MS,
  random,
}: {
  attempt: number;
  minMs?: number;
  maxMs?: number;
  random: number;
}): number {
  // 2 ** attempt overflows to Infinity long before it matters; min() caps it.
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt));
  return minMs + random * (ceiling - minMs);
}

export class Backoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor({ minMs = DEFAULT_MIN_MS, maxMs = DEFAULT_MAX_MS, random = Math.random }: BackoffOptions = {}) {
    if (!(minMs > 0) || !(maxMs >= minMs)) {
      throw new RangeError(`Backoff needs 0 < minMs <= maxMs, got minMs=${minMs} maxMs=${maxMs}.`);
    }
    this.minMs = minMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call moves one attempt further. */
  next(): number {
    const delay = backoffDelay({ attempt: this.attempt, minMs: this.minMs, maxMs: this.maxMs, random: this.random() });
    this.attempt += 1;
    return delay;
  }

  /** Start again from the shortest delay (after a stable connection). */
  reset(): void {
    this.attempt = 0;
  }
}
