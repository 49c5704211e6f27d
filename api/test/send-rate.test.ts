/** The send rate limit's arithmetic (pure logic: windows, places in flight, what Redis reports). */
import { expect, test } from "bun:test";
import { SendRate } from "../src/libs/send-rate.ts";

const WINDOW = 10_000;
const t0 = 1_000_000 * WINDOW; // the start of a window

test("sends in flight hold places: the limit holds for concurrent sends, not only finished ones", () => {
  const rate = new SendRate(3, WINDOW);
  expect([rate.reserve("u", t0), rate.reserve("u", t0), rate.reserve("u", t0)]).toEqual([0, 0, 0]);
  expect(rate.reserve("u", t0 + 1000)).toBe(9); // seconds to the end of the window
  expect(rate.reserve("other", t0)).toBe(0);
});

test("a replay or a failed send gives its place back; a created one keeps it until the window ends", () => {
  const rate = new SendRate(2, WINDOW);
  rate.reserve("u", t0);
  rate.settle("u", false, t0);
  rate.reserve("u", t0);
  rate.settle("u", true, t0);
  rate.reserve("u", t0);
  rate.settle("u", true, t0);
  expect(rate.reserve("u", t0 + 5)).toBeGreaterThan(0);
  expect(rate.reserve("u", t0 + WINDOW)).toBe(0); // a new window
});

test("what other processes counted, as Redis reports it, counts here too (for the current window only)", () => {
  const rate = new SendRate(5, WINDOW);
  rate.reserve("u", t0);
  rate.settle("u", true, t0);
  const { window, key } = rate.counter("u", t0);
  expect(key).toBe(`parley:rl:send:u:${window}`);
  rate.learn("u", window - 1, 99); // an old window: ignored
  expect(rate.reserve("u", t0)).toBe(0);
  rate.settle("u", false, t0);
  rate.learn("u", window, 5);
  expect(rate.reserve("u", t0)).toBeGreaterThan(0);
});
