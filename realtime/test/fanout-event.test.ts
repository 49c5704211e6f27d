/**
 * The event format between publishers (api, realtime's typing and presence) and realtime (pure
 * logic): realtime takes a frame's text as published, without parsing or serializing it again,
 * parses only the frames it must read, and still reads events of the older shape.
 */
import { describe, expect, test } from "bun:test";
import type { Message } from "@parley/contract";
import {
  encodeFanoutEvent,
  parseFanoutEvent,
  readByRealtime,
  readFanoutEvent,
  type ServerFrame,
} from "@parley/contract/frames";

const message = (over: Partial<Message> = {}): Message => ({
  id: "a".repeat(24),
  conversationId: "b".repeat(24),
  seq: 7,
  senderId: "c".repeat(24),
  body: 'a body with "quotes", }} braces and "committedAt":1,"type":"typing" inside',
  clientId: "d".repeat(32),
  createdAt: "2026-12-02T00:00:00.000Z",
  kind: "text",
  system: null,
  replyTo: null,
  mentions: [],
  editedAt: null,
  deleted: false,
  reactions: [],
  version: 0,
  ...over,
});

const frames: ServerFrame[] = [
  { type: "message", message: message() },
  { type: "typing", conversationId: "b".repeat(24), userId: "c".repeat(24) },
  { type: "presence", userId: "c".repeat(24), online: true },
];

describe("FanoutEvent", () => {
  test.each(frames.map((f) => [f.type, f] as const))(
    "%s: the text delivered is the frame serialized once",
    (_, frame) => {
      const raw = encodeFanoutEvent(frame, 1_800_000_000_123);
      const read = readFanoutEvent(raw)!;
      expect(read.text).toBe(JSON.stringify(frame));
      expect(read.type).toBe(frame.type);
      expect(read.committedAt).toBe(1_800_000_000_123);
      expect(read.frame).toEqual(readByRealtime(frame) ? frame : null);
      // any JSON reader still sees a FanoutEvent
      expect(JSON.parse(raw)).toMatchObject({ frame, committedAt: 1_800_000_000_123 });
      expect(parseFanoutEvent(raw)).toEqual({ frame, committedAt: 1_800_000_000_123 });
    },
  );

  test("a committedAt with a fraction of a millisecond (a publisher timing with performance.now) is sliced too", () => {
    const frame = frames[0]!;
    const read = readFanoutEvent(encodeFanoutEvent(frame, 1_800_000_000_123.456))!;
    expect(read).toEqual({
      type: "message",
      committedAt: 1_800_000_000_123.456,
      text: JSON.stringify(frame),
      frame: null,
    });
  });

  test("only the frames that change or are checked against membership are parsed", () => {
    const line = { type: "message", message: message({ system: { kind: "left" } as never }) } as ServerFrame;
    expect(readByRealtime(frames[0]!)).toBe(false);
    expect(readByRealtime(line)).toBe(true);
    expect(readByRealtime(frames[1]!)).toBe(true);
    expect(readFanoutEvent(encodeFanoutEvent(line, 1))!.frame).toEqual(line);
  });

  test("an event of the older shape (a publisher not yet upgraded) is read, parsed", () => {
    const frame = frames[0]!;
    const read = readFanoutEvent(JSON.stringify({ frame, committedAt: 5 }))!;
    expect(read).toEqual({ type: "message", committedAt: 5, text: JSON.stringify(frame), frame });
  });

  test("texts that hold no frame are refused", () => {
    for (const raw of [
      "",
      "null",
      "{}",
      '{"frame":{}}',
      '{"committedAt":1,"type":"typing","read":true,"frame":{oops}}',
      "[1]",
    ])
      expect(readFanoutEvent(raw)).toBeNull();
  });
});
