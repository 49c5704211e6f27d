/**
 * Guarantee 1 on the api's side: a committed message's event reaches Redis even when the first
 * publish fails (kept and published again once Redis answers, with nobody retrying), and a
 * message committed by a process that stopped before publishing it is published when read.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { Types } from "mongoose";
import { userChannel, type FanoutEvent } from "@parley/contract/frames";
import { messageId } from "../src/libs/collections.ts";
import { messageSeries } from "../src/modules/messages/blocks.ts";
import { ORPHAN_AGE_MS } from "../src/modules/messages/bookkeeping.ts";
import { startRedis, stopAll, type Child } from "../../scripts/lib/infra.ts";
import { freePort, waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, subscriber, type TestApi } from "./helpers/app.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-delivery-"));
let redisChild: Child;
let redisUrl: string;
let admin: Redis;
let api: TestApi;

beforeAll(async () => {
  const port = await freePort();
  // a Redis of this file's own: the test changes what its default user may do
  redisChild = await startRedis({ port, dataDir: join(dir, "redis"), persist: false, quiet: true });
  redisUrl = `redis://127.0.0.1:${port}`;
  admin = new Redis(redisUrl);
  api = await startTestApi("delivery", { redisUrl, sendRateMax: 1000 });
});
afterAll(async () => {
  await admin.call("ACL", "SETUSER", "default", "+@all").catch(() => {});
  admin.disconnect();
  await api.stop();
  await stopAll([redisChild]);
  rmSync(dir, { recursive: true, force: true });
});

/** Bob's events as a realtime replica holding him gets them. */
async function listen(userId: string) {
  const sub = await subscriber([userChannel(userId)], redisUrl);
  return {
    get events(): FanoutEvent[] {
      return sub.events(userChannel(userId));
    },
    close: () => void sub.close(),
  };
}

async function pair() {
  const a = await api.register("dl");
  const b = await api.register("dl");
  const conv = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
    .conversation;
  return { a, b, conv };
}

test("a publish Redis refuses is kept and published once Redis accepts again, with nobody retrying", async () => {
  const { a, b, conv } = await pair();
  const bob = await listen(b.user.id);
  try {
    // Redis answers, but refuses PUBLISH (as a failing or overloaded Redis would)
    await admin.call("ACL", "SETUSER", "default", "-publish");
    const sent = await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      body: { body: "committed while Redis refused", clientId: "refused-1" },
    });
    expect(sent.status).toBe(201);
    // the message's event (one routed publish for both members) waits
    expect(api.deps.publisher.unconfirmed()).toBeGreaterThanOrEqual(1);
    await Bun.sleep(300);
    expect(bob.events).toEqual([]);

    await admin.call("ACL", "SETUSER", "default", "+publish");
    await waitFor("the kept event to reach Bob", () => bob.events.length === 1, 15_000);
    expect(bob.events[0]!.frame).toMatchObject({ type: "message", message: sent.body.message });
    expect(api.deps.publisher.unconfirmed()).toBe(0);
  } finally {
    await admin.call("ACL", "SETUSER", "default", "+@all");
    bob.close();
  }
}, 30_000);

test("events kept while Redis refused go out in commit order, before newer ones", async () => {
  const { a, b, conv } = await pair();
  const bob = await listen(b.user.id);
  try {
    await admin.call("ACL", "SETUSER", "default", "-publish");
    for (const n of [1, 2, 3]) {
      const res = await api.call("POST", `/api/conversations/${conv.id}/messages`, {
        token: a.token,
        body: { body: `m${n}`, clientId: `order-${n}` },
      });
      expect(res.status).toBe(201);
    }
    await admin.call("ACL", "SETUSER", "default", "+publish");
    // a new send while the backlog may still be waiting queues behind it
    await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      body: { body: "m4", clientId: "order-4" },
    });
    await waitFor("all four events", () => bob.events.length === 4, 15_000);
    expect(bob.events.map((e) => (e.frame.type === "message" ? e.frame.message.seq : 0))).toEqual([1, 2, 3, 4]);
  } finally {
    await admin.call("ACL", "SETUSER", "default", "+@all");
    bob.close();
  }
}, 30_000);

test("a message its process committed but never published nor recorded is published when read", async () => {
  const { a, b, conv } = await pair();
  const first = await api.call("POST", `/api/conversations/${conv.id}/messages`, {
    token: a.token,
    body: { body: "before the crash", clientId: "o-1" },
  });
  expect(first.status).toBe(201);
  await api.deps.bookkeeper.settle();
  // what a process that died right after its insert leaves behind: seq 2, nothing else
  // placed as the sequencer places a message (its keys), so the fixture cannot drift from it
  const orphan = messageSeries(api.deps.db).place(
    {
      _id: messageId(conv.id, a.user.id, "o-2"),
      conversationId: new Types.ObjectId(conv.id),
      senderId: new Types.ObjectId(a.user.id),
      body: "committed, then the process died",
      clientId: "o-2",
      createdAt: new Date(Date.now() - ORPHAN_AGE_MS - 5000),
    },
    2,
  );
  await api.deps.db.Message.collection.insertOne(orphan);
  const bob = await listen(b.user.id);
  try {
    const page = await api.call("GET", `/api/conversations/${conv.id}/messages`, { token: b.token });
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    await waitFor("the orphan's event", () => bob.events.length === 1, 10_000);
    const frame = bob.events[0]!.frame;
    expect(frame.type === "message" && frame.message.seq).toBe(2);
    await api.deps.bookkeeper.settle();
    const view = await api.call("GET", `/api/conversations/${conv.id}`, { token: b.token });
    expect(view.body.conversation).toMatchObject({ lastSeq: 2, unread: 2 });
    expect(view.body.conversation.lastMessage.body).toBe("committed, then the process died");
  } finally {
    bob.close();
  }
}, 30_000);
