import { describe, expect, test } from "bun:test";
import type { Message } from "@parley/contract";
import {
  addPending,
  applyChanges,
  confirmMessage,
  discardPending,
  emptyThread,
  failPending,
  gapAfter,
  isGap,
  lastContiguousSeq,
  mergeMessages,
  newClientId,
  retryPending,
  settlePending,
  type LocalMessage,
  type Thread,
} from "../src/state/thread.ts";

const CONV = "a".repeat(24);
const ME = "b".repeat(24);
const OTHER = "c".repeat(24);
const msg = (seq: number, over: Partial<Message> = {}): Message => ({
  id: seq.toString(16).padStart(24, "0"),
  conversationId: CONV,
  seq,
  senderId: OTHER,
  body: `m${seq}`,
  clientId: `cid${seq}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 12, 0, seq)).toISOString(),
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
const local = (clientId: string, over: Partial<LocalMessage> = {}): LocalMessage => ({
  clientId,
  conversationId: CONV,
  senderId: ME,
  body: "hi",
  createdAt: new Date().toISOString(),
  status: "pending",
  attempts: 1,
  ...over,
});
const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);

describe("mergeMessages", () => {
  test("orders by seq whatever the arrival order", () => {
    expect(seqs(mergeMessages([], [msg(3), msg(1), msg(2)]))).toEqual([1, 2, 3]);
    expect(seqs(mergeMessages([msg(2), msg(5)], [msg(4), msg(1), msg(3)]))).toEqual([1, 2, 3, 4, 5]);
  });
  test("never keeps the same id or the same seq twice", () => {
    const a = [msg(1), msg(2)];
    expect(seqs(mergeMessages(a, [msg(2), msg(1), msg(2)]))).toEqual([1, 2]);
    // same seq, different id (should not happen, but the screen must still show one)
    expect(mergeMessages(a, [msg(2, { id: "f".repeat(24) })]).length).toBe(2);
    // same id, different seq
    expect(mergeMessages(a, [msg(3, { id: msg(1).id })]).length).toBe(2);
    expect(seqs(mergeMessages([], [msg(7), msg(7), msg(7)]))).toEqual([7]);
  });
  test("returns the same array when nothing is new, so nothing re-renders", () => {
    const a = [msg(1), msg(2)];
    expect(mergeMessages(a, [msg(1)])).toBe(a);
    expect(mergeMessages(a, [])).toBe(a);
  });
  test("drops messages of another conversation", () => {
    expect(mergeMessages([], [msg(1, { conversationId: "d".repeat(24) })], CONV)).toEqual([]);
  });
});

describe("gap detection", () => {
  test("last contiguous seq counts from the oldest loaded message", () => {
    expect(lastContiguousSeq([])).toBe(0);
    expect(lastContiguousSeq([msg(1), msg(2), msg(3)])).toBe(3);
    expect(lastContiguousSeq([msg(41), msg(42), msg(44)])).toBe(42);
  });
  test("a later seq arriving first is a gap; the next one is not", () => {
    const t = [msg(1), msg(2)];
    expect(isGap(t, 3)).toBe(false);
    expect(isGap(t, 4)).toBe(true);
    expect(isGap([], 9)).toBe(false);
    expect(gapAfter(t)).toBeNull();
    expect(gapAfter(mergeMessages(t, [msg(5)]))).toBe(2);
    expect(gapAfter(mergeMessages(t, [msg(5), msg(3), msg(4)]))).toBeNull();
  });
});

describe("a sent message: pending → sent, or failed → retried", () => {
  test("pending shows once, and the confirmed message replaces it (same clientId)", () => {
    let t: Thread = { ...emptyThread(), messages: [msg(1)], loaded: true };
    t = addPending(t, local("x1"));
    t = addPending(t, local("x1"));
    expect(t.pending.length).toBe(1);
    t = confirmMessage(t, msg(2, { senderId: ME, clientId: "x1" }));
    expect(t.pending).toEqual([]);
    expect(seqs(t.messages)).toEqual([1, 2]);
    // the socket frame of the same message arrives afterwards: still once
    const again = confirmMessage(t, msg(2, { senderId: ME, clientId: "x1" }));
    expect(again).toBe(t);
  });
  test("a confirmation from someone else with the same clientId does not settle mine", () => {
    const t = confirmMessage(addPending(emptyThread(), local("x1")), msg(1, { clientId: "x1", senderId: OTHER }));
    expect(t.pending.length).toBe(1);
  });
  test("failed keeps its clientId; retry makes it pending again with one more attempt", () => {
    let t = addPending(emptyThread(), local("x2"));
    t = failPending(t, "x2", "rate limited");
    expect(t.pending[0]).toMatchObject({ clientId: "x2", status: "failed", error: "rate limited" });
    t = retryPending(t, "x2");
    expect(t.pending[0]).toMatchObject({ clientId: "x2", status: "pending", attempts: 2 });
    expect(t.pending[0]!.error).toBeUndefined();
    expect(failPending(t, "nope", "x")).toBe(t);
  });
  test("discard drops only that unsent message", () => {
    const t = addPending(addPending(emptyThread(), local("x5")), local("x6"));
    expect(discardPending(t, "x5").pending.map((p) => p.clientId)).toEqual(["x6"]);
    expect(discardPending(t, "nope")).toBe(t);
  });
  test("a catch-up that brings the message settles the pending copy", () => {
    let t = addPending(addPending(emptyThread(), local("x3")), local("x4"));
    t = { ...t, messages: mergeMessages(t.messages, [msg(1, { senderId: ME, clientId: "x3" })]) };
    t = settlePending(t);
    expect(t.pending.map((p) => p.clientId)).toEqual(["x4"]);
  });
  test("client ids fit the contract", () => {
    const ids = new Set(Array.from({ length: 200 }, () => newClientId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(id.length).toBeLessThanOrEqual(64);
    }
  });
});

describe("changes of messages", () => {
  const change = (rev: number, m: Message) => ({
    conversationId: CONV,
    rev,
    kind: "edit" as const,
    actorId: OTHER,
    message: m,
    createdAt: m.createdAt,
  });

  test("of two copies of one message the higher version stays, wherever it comes from", () => {
    const edited = msg(2, { body: "m2!", version: 1, editedAt: "2026-01-01T13:00:00.000Z" });
    const merged = mergeMessages([msg(1), msg(2)], [edited]);
    expect(merged[1]).toBe(edited);
    // an older copy (a page read before the edit) changes nothing
    expect(mergeMessages(merged, [msg(2)])).toBe(merged);
  });

  test("changes move rev along while they follow it; one past a gap is applied but leaves rev for the catch-up", () => {
    const t: Thread = { ...emptyThread(), messages: [msg(1), msg(2)], loaded: true, rev: 4 };
    const one = applyChanges(t, [change(5, msg(1, { body: "x", version: 1 }))]);
    expect([one.rev, one.messages[0]!.body]).toEqual([5, "x"]);
    const gap = applyChanges(one, [change(7, msg(2, { deleted: true, body: "", version: 3 }))]);
    expect([gap.rev, gap.messages[1]!.deleted]).toEqual([5, true]);
    // the catch-up brings 6 and 7 again: versions never go back, rev reaches 7
    const caught = applyChanges(gap, [
      change(6, msg(2, { body: "m2?", version: 2 })),
      change(7, msg(2, { deleted: true, body: "", version: 3 })),
    ]);
    expect([caught.rev, caught.messages[1]!.deleted]).toEqual([7, true]);
    // a change of a message this thread has not loaded only moves rev
    expect(applyChanges(caught, [change(8, msg(40, { version: 1 }))]).messages).toBe(caught.messages);
  });
});
