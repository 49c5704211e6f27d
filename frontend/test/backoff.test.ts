import { describe, expect, test } from "bun:test";
import {
  backoffCeiling,
  backoffDelay,
  DEFAULT_BACKOFF,
  reconnectPlan,
  RESTART_JITTER_MS,
  UNREACHABLE_CAP_MS,
  UNREACHABLE_FAST_FOR_MS,
  unreachablePlan,
} from "../src/state/backoff.ts";
import { CLOSE_CODES } from "@parley/contract/limits";

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

describe("what to do when the socket closes", () => {
  const top = () => 0.999999;
  test("a replica restart (1012) on a healthy connection comes back within the restart jitter", () => {
    const plan = reconnectPlan(CLOSE_CODES.serviceRestart, 0, DEFAULT_BACKOFF, top);
    expect(plan.delay).toBeLessThan(RESTART_JITTER_MS);
    expect(plan.attempt).toBe(1);
  });
  test("4002 too slow, 1011 and 1006 back off, and the backoff grows while the client keeps failing", () => {
    for (const code of [CLOSE_CODES.tooSlow, 1011, 1006]) {
      let attempt = 0;
      const ceilings: number[] = [];
      for (let i = 0; i < 6; i++) {
        const plan = reconnectPlan(code, attempt, DEFAULT_BACKOFF, top);
        ceilings.push(plan.delay + 1);
        attempt = plan.attempt;
      }
      expect(attempt).toBe(6);
      expect(ceilings).toEqual([0, 1, 2, 3, 4, 5].map((n) => backoffCeiling(n)));
      // not the old 0–400 ms loop
      expect(reconnectPlan(code, 3, DEFAULT_BACKOFF, top).delay).toBeGreaterThan(RESTART_JITTER_MS);
    }
  });
  test("repeated 1012s on connections that never became stable back off too", () => {
    const plan = reconnectPlan(CLOSE_CODES.serviceRestart, 3, DEFAULT_BACKOFF, top);
    expect(plan.delay).toBe(backoffCeiling(3) - 1);
    expect(plan.attempt).toBe(4);
  });
});

describe("when the socket cannot be opened at all", () => {
  const top = () => 0.999999;
  test("in the first minute of an outage, attempts stay within a second of each other", () => {
    let attempt = 0;
    for (let i = 0; i < 10; i++) {
      const plan = unreachablePlan(attempt, i * 1000, DEFAULT_BACKOFF, top);
      expect(plan.delay).toBeLessThan(UNREACHABLE_CAP_MS);
      attempt = plan.attempt;
    }
    expect(attempt).toBe(10);
  });
  test("a longer outage falls back to the usual backoff", () => {
    expect(unreachablePlan(6, UNREACHABLE_FAST_FOR_MS, DEFAULT_BACKOFF, top).delay).toBe(DEFAULT_BACKOFF.capMs - 1);
  });
});
