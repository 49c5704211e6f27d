/**
 * Openings alone: what `quiet()` waits for. Real timers with short periods; every check is about
 * order (settled or not yet), and where it is about a wait, only a lower bound that the design
 * guarantees.
 */
import { expect, test } from "bun:test";
import { Openings } from "../src/fanout/openings.ts";

const QUIET = 30;
const CAP = 400;

/** Whether the promise has settled by the time the microtasks queued now have run. */
async function settled(p: Promise<void>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await Bun.sleep(0);
  return done;
}

test("nothing ever opened: quiet at once", async () => {
  expect(await settled(new Openings(QUIET, CAP).quiet())).toBe(true);
});

test("held while a socket is opening, then until the quiet period after it has passed", async () => {
  const openings = new Openings(QUIET, CAP);
  const opened = openings.begin();
  const wait = openings.quiet();
  await Bun.sleep(QUIET * 3);
  expect(await settled(wait)).toBe(false);
  opened();
  const ended = performance.now();
  expect(await settled(wait)).toBe(false);
  await wait;
  expect(performance.now() - ended).toBeGreaterThanOrEqual(QUIET - 2);
  // quiet again long after: no wait
  await Bun.sleep(QUIET * 2);
  expect(await settled(openings.quiet())).toBe(true);
});

test("every waiter settles together once the last of several sockets has opened", async () => {
  const openings = new Openings(QUIET, CAP);
  const ends = [openings.begin(), openings.begin(), openings.begin()];
  const waits = [openings.quiet(), openings.quiet()];
  ends[0]!();
  ends[1]!();
  await Bun.sleep(QUIET * 3);
  expect(await Promise.all(waits.map(settled))).toEqual([false, false]);
  ends[2]!();
  await Promise.all(waits);
  expect(openings.size).toBe(0);
});

test("a socket's end counts once however often it is called", () => {
  const openings = new Openings(QUIET, CAP);
  const first = openings.begin();
  openings.begin();
  first();
  first();
  expect(openings.size).toBe(1);
});

test("a socket that never finishes opening holds a waiter no longer than the cap", async () => {
  const openings = new Openings(QUIET, CAP);
  openings.begin();
  const started = performance.now();
  const wait = openings.quiet();
  await Bun.sleep(CAP / 2);
  expect(await settled(wait)).toBe(false);
  await wait;
  expect(performance.now() - started).toBeGreaterThanOrEqual(CAP - 2);
  // a waiter asked later is held its own full cap, not the first one's
  const later = openings.quiet();
  expect(await settled(later)).toBe(false);
});
