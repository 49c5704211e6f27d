import { expect, test } from "bun:test";
import type { Message } from "@parley/contract";
import { threadItems } from "../src/thread-items.ts";
import { addPending, emptyThread, type Thread } from "../src/state/thread.ts";

const CONV = "a".repeat(24);
const ME = "b".repeat(24);
const OTHER = "c".repeat(24);
const at = (day: number, hour: number, min = 0) => new Date(2026, 0, day, hour, min).toISOString();
const msg = (seq: number, senderId: string, createdAt: string, clientId = `k${seq}`): Message => ({
  id: `${seq}`.padStart(24, "0"),
  conversationId: CONV,
  seq,
  senderId,
  body: `m${seq}`,
  clientId,
  createdAt,
  kind: "text",
  system: null,
  replyTo: null,
  mentions: [],
  editedAt: null,
  deleted: false,
  reactions: [],
  version: 0,
});

test("a day separator before the first message of each local day; runs of one sender within 5 minutes", () => {
  const t: Thread = {
    ...emptyThread(),
    loaded: true,
    messages: [
      msg(1, OTHER, at(1, 9)),
      msg(2, OTHER, at(1, 9, 2)),
      msg(3, ME, at(1, 9, 3)),
      msg(4, ME, at(1, 9, 30)),
      msg(5, OTHER, at(2, 8)),
    ],
  };
  const rows = threadItems(t, ME, true);
  expect(rows.map((r) => r.newDay)).toEqual([true, false, false, false, true]);
  expect(rows.map((r) => r.continued)).toEqual([false, true, false, false, false]);
  expect(rows.map((r) => r.own)).toEqual([false, false, true, true, false]);
  // in a group, a name heads each run of someone else's messages
  expect(rows.map((r) => r.showSender)).toEqual([true, false, false, false, true]);
});

test("a pending message whose confirmed copy is already there shows once, as sent", () => {
  let t: Thread = { ...emptyThread(), loaded: true, messages: [msg(1, ME, at(1, 9), "x1")] };
  t = addPending(t, {
    clientId: "x1",
    conversationId: CONV,
    senderId: ME,
    body: "m1",
    createdAt: at(1, 9),
    status: "pending",
    attempts: 1,
  });
  t = addPending(t, {
    clientId: "x2",
    conversationId: CONV,
    senderId: ME,
    body: "later",
    createdAt: at(1, 9, 1),
    status: "failed",
    attempts: 1,
  });
  const rows = threadItems(t, ME, false);
  expect(rows.map((r) => [r.body, r.status])).toEqual([
    ["m1", "sent"],
    ["later", "failed"],
  ]);
});

test("unsent messages say why they wait: behind a failed one, else the send queues' pause", () => {
  const pending = (clientId: string, status: "pending" | "failed" = "pending") => ({
    clientId,
    conversationId: CONV,
    senderId: ME,
    body: clientId,
    createdAt: at(1, 9),
    status,
    attempts: 1,
  });
  let t: Thread = { ...emptyThread(), loaded: true };
  for (const p of [pending("p1"), pending("p2", "failed"), pending("p3"), pending("p4")]) t = addPending(t, p);
  const waits = (pause: Parameters<typeof threadItems>[3]) => threadItems(t, ME, false, pause).map((r) => r.wait);
  expect(waits(null)).toEqual(["", "", "held", "held"]);
  expect(waits({ reason: "rate", until: 1 })).toEqual(["rate", "", "held", "held"]);
  let u: Thread = { ...emptyThread(), loaded: true };
  for (const p of [pending("q1"), pending("q2")]) u = addPending(u, p);
  expect(threadItems(u, ME, false, { reason: "connection", until: 1 }).map((r) => r.wait)).toEqual([
    "connection",
    "connection",
  ]);
});
