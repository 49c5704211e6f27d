import { expect, test } from "bun:test";
import { deservesNotification } from "../src/state/notify.ts";

const ME = "b".repeat(24);
const OTHER = "c".repeat(24);
const text = (over: { mentions?: string[]; senderId?: string; kind?: "text" | "system" } = {}) => ({
  senderId: OTHER,
  mentions: [],
  kind: "text" as const,
  ...over,
});

test("a hidden page is notified of direct messages and mentions, never of muted ones or its own", () => {
  const direct = { kind: "direct" as const, muted: false };
  const group = { kind: "group" as const, muted: false };
  expect(deservesNotification(direct, text(), ME, true)).toBe(true);
  expect(deservesNotification(direct, text(), ME, false)).toBe(false);
  expect(deservesNotification(group, text(), ME, true)).toBe(false);
  expect(deservesNotification(group, text({ mentions: [ME] }), ME, true)).toBe(true);
  expect(deservesNotification({ ...direct, muted: true }, text(), ME, true)).toBe(false);
  expect(deservesNotification(direct, text({ senderId: ME }), ME, true)).toBe(false);
  expect(deservesNotification(group, text({ kind: "system", mentions: [ME] }), ME, true)).toBe(false);
});
