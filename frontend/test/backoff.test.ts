import { describe, expect, test } from "bun:test";
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from "../src/state/backoff.ts";

describe("reconnect backoff with full jitter", () => {
  test("the ceiling doubles per attempt up to the cap", () => {
    const o = { baseMs: 100, capMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 20].map((n) => backoffCeiling(n, o))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });
  test("delays stay within [0, ceiling) for the extremes of the random source", () => {
    const o = { baseMs: 100, capMs: 1000 };
    for (let n = 0; n < 12; n++) {
      expect(backoffDelay(n, o, () => 0)).toBe(0);
      const top = backoffDelay(n, o, () => 0.999999);
      expect(top).toBeLessThan(backoffCeiling(n, o));
      expect(top).toBeGreaterThanOrEqual(backoffCeiling(n, o) - 1);
    }
  });
  test("real random delays are spread over the whole range (jitter), never above the cap", () => {
    const samples = Array.from({ length: 2000 }, () => backoffDelay(10));
    expect(Math.max(...samples)).toBeLessThan(DEFAULT_BACKOFF.capMs);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    // full jitter: both halves of the range get used
    expect(samples.some((s) => s < DEFAULT_BACKOFF.capMs / 2)).toBe(true);
    expect(samples.some((s) => s > DEFAULT_BACKOFF.capMs / 2)).toBe(true);
  });
});
