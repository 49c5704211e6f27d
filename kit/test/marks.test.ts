/**
 * The client's side of marks (contract/marks MarkBook), pure logic: when a `ready` may skip the
 * catch-up and when it must not. The Redis side is tested with real processes in
 * api/test/events.test.ts (what is recorded) and realtime/test/reconnect-storm.test.ts (a
 * replica that hangs and dies: who skips, and that no one loses anything).
 */
import { describe, expect, test } from "bun:test";
import { formatMark, MARKS_TRUSTED_AWAY_MS, MarkBook, parseMark } from "@parley/contract/marks";

const EPOCH = "run-1";
const marks = (by: Record<string, number>, epoch = EPOCH) => ({ epoch, by });

/** A book whose first `ready` (with `by`) was caught up. */
function caughtUp(by: Record<string, number>): MarkBook {
  const book = new MarkBook();
  const token = book.ready(marks(by), 0);
  expect(token).not.toBeNull();
  book.caughtUp(token!);
  return book;
}

describe("MarkBook", () => {
  test("the first ready always catches up; once it has, the same marks need nothing", () => {
    const book = new MarkBook();
    expect(book.ready(marks({}), 0)).not.toBeNull();
    const again = caughtUp({ p: 3 });
    again.down();
    expect(again.ready(marks({ p: 3 }), 2000)).toBeNull();
  });

  test("events seen live move it on; a newer mark than it saw means something was missed", () => {
    const book = caughtUp({ p: 3 });
    book.seen(formatMark("p", 4));
    book.seen(formatMark("p", 5));
    book.down();
    expect(book.ready(marks({ p: 5 }), 20)).toBeNull();
    book.down();
    expect(book.ready(marks({ p: 6 }), 40)).not.toBeNull();
  });

  test("a publisher it never heard from, another Redis, or no marks at all: catch up", () => {
    expect(caughtUp({ p: 3 }).ready(marks({ p: 3, q: 1 }), 1)).not.toBeNull();
    expect(caughtUp({ p: 3 }).ready(marks({ p: 3 }, "run-2"), 1)).not.toBeNull();
    expect(caughtUp({ p: 3 }).ready(null, 1)).not.toBeNull();
    expect(caughtUp({ p: 3 }).ready(undefined, 1)).not.toBeNull();
    // a publisher that sent this user nothing is simply absent
    expect(caughtUp({ p: 3, q: 2 }).ready(marks({ p: 3 }), 1)).toBeNull();
  });

  test("a catch-up that did not complete leaves it not caught up, however the marks compare", () => {
    const book = new MarkBook();
    const first = book.ready(marks({ p: 1 }), 0);
    expect(first).not.toBeNull();
    // never caughtUp(first): a request failed
    expect(book.ready(marks({ p: 1 }), 5)).not.toBeNull();
  });

  test("events seen during the catch-up count once it completes", () => {
    const book = new MarkBook();
    const token = book.ready(marks({ p: 5 }), 0)!;
    book.seen(formatMark("p", 7));
    book.seen(formatMark("q", 2));
    book.caughtUp(token);
    expect(book.ready(marks({ p: 7, q: 2 }), 1)).toBeNull();
  });

  test("an older ready's catch-up completing late does not count for a newer ready", () => {
    const book = new MarkBook();
    const old = book.ready(marks({ p: 1 }), 0)!;
    const newer = book.ready(marks({ p: 4 }), 1)!;
    book.caughtUp(old);
    expect(book.ready(marks({ p: 4 }), 2)).not.toBeNull();
    const third = book.ready(marks({ p: 4 }), 3)!;
    expect(third).not.toBe(newer);
    book.caughtUp(third);
    expect(book.ready(marks({ p: 4 }), 4)).toBeNull();
  });

  test("away longer than the marks are trusted, counted from the last moment it knew it was live: catch up", () => {
    // caughtUp's ready was at 0; alive every 10 s while ready
    const book = caughtUp({ p: 3 });
    for (let t = 10_000; t <= 60_000; t += 10_000) book.alive(t);
    book.down();
    // ticks after the socket went down (none come while a laptop sleeps) do not count
    book.alive(10 * 60_000);
    expect(book.ready(marks({ p: 3 }), 60_000 + MARKS_TRUSTED_AWAY_MS)).not.toBeNull();
    const recent = caughtUp({ p: 3 });
    recent.alive(60_000);
    recent.down();
    expect(recent.ready(marks({ p: 3 }), 60_000 + MARKS_TRUSTED_AWAY_MS - 1)).toBeNull();
    // without ticks, a long-lived quiet socket counts from its ready: it catches up
    const quiet = caughtUp({ p: 3 });
    quiet.down();
    expect(quiet.ready(marks({ p: 3 }), MARKS_TRUSTED_AWAY_MS)).not.toBeNull();
  });

  test("marks are read strictly", () => {
    expect(parseMark("abc:12")).toEqual({ publisher: "abc", n: 12 });
    expect(parseMark("a:b:3")).toEqual({ publisher: "a:b", n: 3 });
    for (const bad of [undefined, null, 12, "", "abc", ":3", "abc:0", "abc:-1", "abc:1.5", "abc:x"])
      expect(parseMark(bad)).toBeNull();
    const book = caughtUp({ p: 3 });
    book.seen("garbage");
    book.seen(undefined);
    expect(book.ready(marks({ p: 3 }), 1)).toBeNull();
  });
});
