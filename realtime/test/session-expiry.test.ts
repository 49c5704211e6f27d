/**
 * Token expiry on a socket: setTimeout holds at most 2^31-1 ms (~24.8 days), so a token valid
 * for longer is re-checked when the capped timer fires and the socket stays open until the
 * token really expires (then 4001).
 */
import { afterEach, describe, expect, jest, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { CLOSE_CODES } from "@parley/contract/limits";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";
import { expiryDelay, MAX_TIMER_MS, Session } from "../src/fanout/session.ts";

const DAY = 24 * 3600 * 1000;

describe("expiryDelay", () => {
  test("is the time left, capped at what setTimeout holds, and 0 once expired", () => {
    const now = 1_800_000_000_000;
    expect(expiryDelay(now / 1000 + 60, now)).toBe(60_000);
    expect(expiryDelay(now / 1000 - 60, now)).toBe(0);
    expect(expiryDelay((now + 30 * DAY) / 1000, now)).toBe(MAX_TIMER_MS);
    // when the capped timer fires, the rest is still to wait
    expect(expiryDelay((now + 30 * DAY) / 1000, now + MAX_TIMER_MS)).toBe(30 * DAY - MAX_TIMER_MS);
  });
});

describe("Session expiry timer", () => {
  afterEach(() => jest.useRealTimers());

  test("a token valid for 30 days is not closed when the capped timer fires, only at its expiry", () => {
    jest.useFakeTimers();
    const closes: { code: number; reason: string }[] = [];
    const raw = {
      send: () => 1,
      getBufferedAmount: () => 0,
      close: (code: number, reason: string) => closes.push({ code, reason }),
    } as unknown as ServerWebSocket<unknown>;
    const exp = Math.floor((Date.now() + 30 * DAY) / 1000);
    const session = new Session("u", raw, createRealtimeMetrics(), exp);

    jest.advanceTimersByTime(MAX_TIMER_MS + 1000);
    expect(session.isClosed).toBe(false);
    expect(closes).toEqual([]);

    jest.advanceTimersByTime(30 * DAY - MAX_TIMER_MS);
    expect(session.isClosed).toBe(true);
    expect(closes).toEqual([{ code: CLOSE_CODES.sessionExpired, reason: "session expired" }]);
  });
});
