/** Reconnect backoff: a quick random first retry, then bounds, exponential growth, full jitter, reset. */
import { describe, expect, it } from "vitest";

import { Backoff, backoffDelay } from "./backoff";

describe("backoffDelay", () => {
  it("makes the first retry a random share of 250 ms", () => {
    expect(backoffDelay({ attempt: 0, random: 0 })).toBe(0);
    expect(backoffDelay({ attempt: 0, random: 0.5 })).toBe(125);
    expect(backoffDelay({ attempt: 0, random: 0.999999 })).toBeLessThan(250);
  });

  it("stays within [0.5 s, 20 s] for every later attempt and random value", () => {
    for (let attempt = 1; attempt < 100; attempt++) {
      for (const random of [0, 0.25, 0.5, 0.999999]) {
        const delay = backoffDelay({ attempt, random });
        expect(delay).toBeGreaterThanOrEqual(500);
        expect(delay).toBeLessThanOrEqual(20_000);
      }
    }
  });

  it("doubles the ceiling per attempt until the maximum", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay({ attempt, random: 1 }));
    expect(ceilings).toEqual([250, 1000, 2000, 4000, 8000, 16000, 20000, 20000]);
  });

  it("is fully jittered: the random value spreads the delay over the whole range", () => {
    expect(backoffDelay({ attempt: 4, random: 0 })).toBe(500);
    expect(backoffDelay({ attempt: 4, random: 0.5 })).toBe(4250);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => backoffDelay({ attempt: 6, random: i / 50 })));
    expect(spread.size).toBe(50);
  });
});

describe("Backoff", () => {
  it("moves one attempt per delay and starts over after reset()", () => {
    const backoff = new Backoff({ random: () => 1 });
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([250, 1000, 2000]);
    expect(backoff.attempts).toBe(3);
    backoff.reset();
    expect(backoff.next()).toBe(250);
  });

  it("skips the quick first retry when asked to", () => {
    const backoff = new Backoff({ random: () => 1 });
    backoff.skipFirst();
    expect(backoff.next()).toBe(1000);
    backoff.skipFirst();
    expect(backoff.next()).toBe(2000);
  });

  it("caps one delay when asked to, keeping its jitter", () => {
    const backoff = new Backoff({ random: () => 1 });
    backoff.skipFirst();
    expect([backoff.next(5_000), backoff.next(5_000), backoff.next(5_000), backoff.next(5_000)]).toEqual([
      1000, 2000, 4000, 5000,
    ]);
    expect(backoff.next()).toBe(16_000);
  });

  it("refuses bounds that make no sense", () => {
    expect(() => new Backoff({ minMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ minMs: 1000, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ firstMs: -1 })).toThrow(RangeError);
  });
});
