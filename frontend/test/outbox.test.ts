/**
 * The send queue's rule, driven with a fake server: one message in flight per conversation, in
 * typed order; waits (send limit, no connection) pause and keep the order; a refusal holds the
 * messages after it until Retry (same clientId) or Discard.
 */
import { describe, expect, test } from "bun:test";
import type { Id, Message } from "@parley/contract";
import { ApiError } from "../src/state/api-client.ts";
import { Outbox, type SendPause } from "../src/state/outbox.ts";
import { emptyThread, type Thread } from "../src/state/thread.ts";

const ME = "b".repeat(24);
const A = "a".repeat(24);
const B = "c".repeat(24);

type Call = { id: Id; body: string; clientId: string; answer(m?: unknown): void; refuse(e: unknown): void };

function world() {
  const threads = new Map<Id, Thread>();
  const calls: Call[] = [];
  const pauses: SendPause[] = [];
  const failures: unknown[] = [];
  let seq = 0;
  const outbox = new Outbox(
    {
      thread: (id) => threads.get(id) ?? emptyThread(),
      setThread: (id, t) => void threads.set(id, t),
      threads: () => threads,
      sent: () => undefined,
      failed: (e) => void failures.push(e),
      paused: (p) => void pauses.push(p),
    },
    {
      now: Date.now,
      send: (id, body, clientId) =>
        new Promise<Message>((resolve, reject) => {
          calls.push({
            id,
            body,
            clientId,
            answer: () =>
              resolve({
                id: `${++seq}`.padStart(24, "0"),
                conversationId: id,
                seq,
                senderId: ME,
                body,
                clientId,
                createdAt: new Date().toISOString(),
                kind: "text",
                system: null,
                replyTo: null,
                mentions: [],
                editedAt: null,
                deleted: false,
                reactions: [],
                version: 0,
              }),
            refuse: reject,
          });
        }),
    },
  );
  const pending = (id: Id) => (threads.get(id) ?? emptyThread()).pending;
  const sent = (id: Id) => (threads.get(id) ?? emptyThread()).messages.map((m) => m.body);
  return { outbox, calls, pauses, failures, pending, sent };
}

/** Lets the awaited answers run. */
const settle = () => new Promise((r) => setTimeout(r, 0));
async function eventually(what: string, check: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("one conversation's queue", () => {
  test("one message in flight at a time, sent in the order typed", async () => {
    const w = world();
    for (const t of ["1", "2", "3"]) w.outbox.send(A, ME, t);
    expect(w.calls.map((c) => c.body)).toEqual(["1"]);
    w.calls[0]!.answer();
    await settle();
    expect(w.calls.map((c) => c.body)).toEqual(["1", "2"]);
    w.calls[1]!.answer();
    await settle();
    w.calls[2]!.answer();
    await settle();
    expect(w.sent(A)).toEqual(["1", "2", "3"]);
    expect(w.pending(A)).toEqual([]);
  });

  test("conversations do not wait for each other", () => {
    const w = world();
    w.outbox.send(A, ME, "a1");
    w.outbox.send(B, ME, "b1");
    w.outbox.send(A, ME, "a2");
    expect(w.calls.map((c) => c.body)).toEqual(["a1", "b1"]);
  });

  test("a refused message is marked failed and holds the ones after it; Retry resends it with its clientId", async () => {
    const w = world();
    for (const t of ["1", "2", "3"]) w.outbox.send(A, ME, t);
    w.calls[0]!.answer();
    await settle();
    const refused = w.calls[1]!;
    refused.refuse(new ApiError(422, "validation_failed", "the message is empty"));
    await settle();
    expect(w.pending(A).map((p) => [p.body, p.status, p.error])).toEqual([
      ["2", "failed", "the message is empty"],
      ["3", "pending", undefined],
    ]);
    expect(w.calls).toHaveLength(2);
    expect(w.failures).toHaveLength(1);

    w.outbox.retry(A, refused.clientId);
    expect(w.calls[2]!.clientId).toBe(refused.clientId);
    w.calls[2]!.answer();
    await settle();
    w.calls[3]!.answer();
    await settle();
    expect(w.sent(A)).toEqual(["1", "2", "3"]);
  });

  test("Discard drops a refused message and the held ones go", async () => {
    const w = world();
    for (const t of ["1", "2"]) w.outbox.send(A, ME, t);
    w.calls[0]!.refuse(new ApiError(413, "payload_too_large", "too long"));
    await settle();
    w.outbox.discard(A, w.calls[0]!.clientId);
    expect(w.calls.map((c) => c.body)).toEqual(["1", "2"]);
    w.calls[1]!.answer();
    await settle();
    expect(w.sent(A)).toEqual(["2"]);
    expect(w.pending(A)).toEqual([]);
  });
});

describe("waits pause every queue and keep the order", () => {
  test("the send limit (429): the message stays pending, every queue waits Retry-After, then goes on in order", async () => {
    const w = world();
    for (const t of ["1", "2"]) w.outbox.send(A, ME, t);
    w.outbox.send(B, ME, "b1");
    w.calls[0]!.refuse(new ApiError(429, "rate_limited", "slow down", undefined, 0.05));
    await settle();
    expect(w.pauses.at(-1)?.reason).toBe("rate");
    expect(w.pending(A).map((p) => p.status)).toEqual(["pending", "pending"]);
    // a reconnect does not cut the limit's wait short: going earlier would only be refused again
    w.outbox.resume();
    expect(w.calls).toHaveLength(2);
    // B's send already in flight comes back; B's queue waits too
    w.calls[1]!.answer();
    await eventually("the wait to end and A's head to go again", () => w.calls.length === 3);
    expect(w.pauses.at(-1)).toBeNull();
    expect(w.calls[2]!.body).toBe("1");
    expect(w.calls[2]!.clientId).toBe(w.calls[0]!.clientId);
    w.calls[2]!.answer();
    await settle();
    w.calls[3]!.answer();
    await settle();
    expect(w.sent(A)).toEqual(["1", "2"]);
    expect(w.failures).toEqual([]);
  });

  test("no connection: the message waits, and resume() (a reconnect, the online event) sends it again", async () => {
    const w = world();
    w.outbox.send(A, ME, "1");
    w.outbox.send(A, ME, "2");
    w.calls[0]!.refuse(new ApiError(0, "network", "No connection to the server."));
    await settle();
    expect(w.pauses.at(-1)?.reason).toBe("connection");
    w.outbox.send(A, ME, "3");
    expect(w.calls).toHaveLength(1);
    w.outbox.resume();
    expect(w.calls.map((c) => c.body)).toEqual(["1", "1"]);
    for (let i = 1; i <= 3; i++) {
      w.calls[i]!.answer();
      await settle();
    }
    expect(w.sent(A)).toEqual(["1", "2", "3"]);
    w.outbox.stop();
  });

  test("a 401 ends the session: the store hears of it", async () => {
    const w = world();
    w.outbox.send(A, ME, "1");
    w.calls[0]!.refuse(new ApiError(401, "unauthorized", "sign in first"));
    await settle();
    expect((w.failures[0] as ApiError).status).toBe(401);
  });
});
