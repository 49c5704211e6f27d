/** The test runner's reading of bun test's output: its counts, and the failing tests it names at the end. */
import { expect, test } from "bun:test";
import { failingTests, parseBunSummary } from "../test.ts";

const output = `
test/a.test.ts:
(pass) a > works [12.00ms]
(fail) a > breaks under load [31061.46ms]

test/b.test.ts:
(fail) (unnamed) [3.10ms]

2 tests failed:
(fail) a > breaks under load [31061.46ms]
(fail) (unnamed) [3.10ms]

 1 pass
 2 fail
 1 skip
`;

test("counts come from bun test's closing summary", () => {
  expect(parseBunSummary(output)).toEqual({ passed: 1, failed: 2, skipped: 1 });
  expect(parseBunSummary("no summary at all")).toBeNull();
});

test("each failing test is named once, with its file, without its time", () => {
  expect(failingTests(output)).toEqual([
    "test/a.test.ts: (fail) a > breaks under load",
    "test/b.test.ts: (fail) (unnamed)",
  ]);
  expect(failingTests(" 3 pass\n 0 fail\n")).toEqual([]);
});
