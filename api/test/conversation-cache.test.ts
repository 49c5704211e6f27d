/**
 * The api's conversation cache: a change announced by one api process reaches the others
 * through Redis, and a read that raced the change does not put the old document back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { subscriberOn } from "@parley/kit/pubsub";
import Redis from "ioredis";
import { Types } from "mongoose";
import { ConversationCache } from "../src/modules/conversations/cache.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, type TestApi } from "./helpers/app.ts";
import { testRedisUrl } from "./helpers/env.ts";

let api: TestApi;
const connections: Redis[] = [];
beforeAll(async () => {
  api = await startTestApi("conversation_cache");
});
afterAll(async () => {
  for (const r of connections) r.disconnect();
  await api.stop();
});

const redis = () => {
  const r = new Redis(testRedisUrl);
  connections.push(r);
  return r;
};

async function conversation(title: string) {
  const now = new Date();
  const doc = await api.deps.db.Conversation.create({
    kind: "group",
    title,
    memberIds: [new Types.ObjectId(), new Types.ObjectId()],
    memberNames: ["x", "y"],
    directKey: `group:${new Types.ObjectId().toHexString()}`,
    lastActivityAt: now,
    createdAt: now,
  });
  return doc._id.toHexString();
}

test("an invalidation on one process makes the other read the conversation again", async () => {
  const id = await conversation("before");
  const one = new ConversationCache(api.deps.db, { ttlMs: 60_000, maxEntries: 100, publisher: redis() });
  const other = new ConversationCache(api.deps.db, { ttlMs: 60_000, maxEntries: 100, publisher: redis() });
  one.follow(subscriberOn(redis()));
  other.follow(subscriberOn(redis()));
  await Bun.sleep(200); // both subscribed
  expect((await other.get(id))?.title).toBe("before");
  await api.deps.db.Conversation.updateOne({ _id: id }, { $set: { title: "after" } });
  expect((await other.get(id))?.title).toBe("before"); // cached
  await one.invalidate(id);
  await waitFor("the other process to see the change", async () => (await other.get(id))?.title === "after", 5000);
});

test("an unknown id is never cached: a conversation created later is found", async () => {
  const cache = new ConversationCache(api.deps.db, { ttlMs: 60_000, maxEntries: 100 });
  const id = new Types.ObjectId();
  expect(await cache.get(id.toHexString())).toBeNull();
  const now = new Date();
  await api.deps.db.Conversation.create({
    _id: id,
    kind: "group",
    title: "late",
    memberIds: [new Types.ObjectId()],
    memberNames: ["z"],
    directKey: `group:${id.toHexString()}`,
    lastActivityAt: now,
    createdAt: now,
  });
  expect((await cache.get(id.toHexString()))?.title).toBe("late");
});

test("a read that was in flight when the conversation changed is not kept", async () => {
  const id = await conversation("old");
  const cache = new ConversationCache(api.deps.db, { ttlMs: 60_000, maxEntries: 100 });
  const racing = cache.get(id);
  cache.drop(id); // the change arrives while the read is on its way
  await racing;
  await api.deps.db.Conversation.updateOne({ _id: id }, { $set: { title: "new" } });
  expect((await cache.get(id))?.title).toBe("new");
});
