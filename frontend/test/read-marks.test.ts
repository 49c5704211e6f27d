/** Read marks are coalesced per conversation: the first at once, then the highest every interval. */
import { expect, test } from "bun:test";
import { ReadMarks } from "../src/state/read-marks.ts";

test("the first mark goes at once; marks within the interval wait and only the highest is sent", async () => {
  const sent: [string, number][] = [];
  const marks = new ReadMarks(async (id, seq) => void sent.push([id, seq]), 100);
  marks.mark("a", 1);
  expect(sent).toEqual([["a", 1]]);
  marks.mark("a", 2);
  marks.mark("a", 5);
  marks.mark("a", 3); // lower than what waits: ignored
  marks.mark("b", 7); // another conversation: its own first mark
  expect(sent).toEqual([
    ["a", 1],
    ["b", 7],
  ]);
  await Bun.sleep(150);
  expect(sent).toEqual([
    ["a", 1],
    ["b", 7],
    ["a", 5],
  ]);
});

test("flush sends what waits now; stop drops it", async () => {
  const sent: [string, number][] = [];
  const marks = new ReadMarks(async (id, seq) => void sent.push([id, seq]), 10_000);
  marks.mark("a", 1);
  marks.mark("a", 4);
  marks.flush();
  expect(sent).toEqual([
    ["a", 1],
    ["a", 4],
  ]);
  marks.mark("a", 9);
  marks.stop();
  await Bun.sleep(20);
  expect(sent).toHaveLength(2);
});
