/**
 * Token expiry on sockets (pure logic): one wheel for all of a replica's sockets closes each
 * when its token expires, not before, including tokens valid for longer than a setTimeout can
 * wait (~24.8 days), and forgets sockets that closed first. The end-to-end 4001 close is in
 * auth.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { ExpiryWheel } from "../src/fanout/expiry.ts";

const DAY = 24 * 3600 * 1000;
const T0 = 1_800_000_000_000;

function wheel() {
  const expired: string[] = [];
  return { expired, w: new ExpiryWheel<string>((s) => expired.push(s), T0) };
}

describe("ExpiryWheel", () => {
  test("expires each item in the second its token expires, not before", () => {
    const { expired, w } = wheel();
    expect(w.add("a", T0 / 1000 + 2)).toBe(true);
    expect(w.add("b", T0 / 1000 + 5)).toBe(true);
    w.tick(T0 + 1999);
    expect(expired).toEqual([]);
    w.tick(T0 + 2000);
    expect(expired).toEqual(["a"]);
    w.tick(T0 + 4999);
    expect(expired).toEqual(["a"]);
    w.tick(T0 + 6000);
    expect(expired).toEqual(["a", "b"]);
    expect(w.size).toBe(0);
  });

  test("a token valid for 30 days expires at 30 days (longer than a setTimeout can wait)", () => {
    const { expired, w } = wheel();
    w.add("long", (T0 + 30 * DAY) / 1000);
    w.tick(T0 + 2 ** 31);
    w.tick(T0 + 30 * DAY - 1000);
    expect(expired).toEqual([]);
    w.tick(T0 + 30 * DAY);
    expect(expired).toEqual(["long"]);
  });

  test("an item removed (its socket closed first) never expires, and others in its second still do", () => {
    const { expired, w } = wheel();
    w.add("gone", T0 / 1000 + 3);
    w.add("stays", T0 / 1000 + 3);
    w.remove("gone", T0 / 1000 + 3);
    w.tick(T0 + 3000);
    expect(expired).toEqual(["stays"]);
  });

  test("an already expired token is refused, so the caller closes it at once", () => {
    const { expired, w } = wheel();
    expect(w.add("late", T0 / 1000, T0)).toBe(false);
    expect(w.add("late", T0 / 1000 - 60, T0)).toBe(false);
    expect(w.size).toBe(0);
    expect(expired).toEqual([]);
  });

  test("ticks that skip seconds (a paused process) expire everything that came due meanwhile", () => {
    const { expired, w } = wheel();
    for (let i = 1; i <= 50; i++) w.add(`s${i}`, T0 / 1000 + i * 60);
    w.tick(T0 + 10 * 60_000 + 500);
    expect(expired).toEqual(Array.from({ length: 10 }, (_, i) => `s${i + 1}`));
    w.tick(T0 + DAY);
    expect(expired).toHaveLength(50);
  });
});
