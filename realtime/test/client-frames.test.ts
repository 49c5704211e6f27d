/**
 * The client's frame parser, alone (pure logic): it sees the frame's raw text since realtime
 * upgrades sockets itself, so whatever a client can write must end in a clear refusal, never a
 * throw (a throw in a Bun socket handler ends the process: seen with fuzz seed 191022).
 */
import { expect, test } from "bun:test";
import { parseClientFrame } from "../src/socket/frames.ts";

const id = "a".repeat(24);

test("a typing frame is accepted", () => {
  expect(parseClientFrame(JSON.stringify({ type: "typing", conversationId: id }))).toEqual({
    ok: true,
    frame: { type: "typing", conversationId: id },
  });
});

test.each([
  ['{"type":{"toString":1}}', "unknown frame type (a object)"],
  ['{"type":{"valueOf":{},"toString":{}}}', "unknown frame type (a object)"],
  ['{"type":["typing"]}', "unknown frame type (a object)"],
  ['{"type":"reaction"}', 'unknown frame type "reaction"'],
  ['{"type":"typing","conversationId":{"toString":1}}', "typing needs a conversationId (24 hex characters)"],
  ["[1,2]", "frames must be JSON objects"],
  ["not json", "frames must be JSON objects"],
  [`${"[".repeat(500)}${"]".repeat(500)}`, "frames must be JSON objects"],
])("%s is refused with a reason, not a throw", (text, message) => {
  expect(parseClientFrame(text)).toEqual({ ok: false, message });
});

test("a binary frame (passed as null) is refused", () => {
  expect(parseClientFrame(null)).toEqual({ ok: false, message: "frames must be JSON objects" });
});
