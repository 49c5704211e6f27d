/**
 * A database written by the api of schema v2 (before edits, reactions and group changes) is
 * brought to v3 at start: its conversations get the versions their new writers raise, and its
 * messages, which v3 leaves as they are, read with the new fields at their defaults.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import mongoose, { Types } from "mongoose";
import { createLogger } from "@parley/kit/log";
import { openDeps } from "../src/app.ts";
import { blockKey, blockOf } from "../src/libs/collections.ts";
import { SCHEMA_VERSION } from "../src/libs/migrations.ts";
import * as changes from "../src/modules/changes/service.ts";
import * as conversations from "../src/modules/conversations/service.ts";
import * as groups from "../src/modules/groups/service.ts";
import * as messages from "../src/modules/messages/service.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { testConfig } from "./helpers/app.ts";
import { testMongoUrl } from "./helpers/env.ts";

const url = testMongoUrl("migrate_v3");
const [ann, bob, cat] = [new Types.ObjectId(), new Types.ObjectId(), new Types.ObjectId()];
const conv = new Types.ObjectId();

/** A group with three messages, exactly as the v2 api stored them. */
beforeAll(async () => {
  const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  const db = conn.db!;
  const at = new Date("2026-12-01T10:00:00Z");
  await db.collection("users").insertMany(
    (
      [
        [ann, "ann"],
        [bob, "bob"],
        [cat, "cat"],
      ] as const
    ).map(([_id, username]) => ({
      _id,
      username,
      usernameLower: username,
      passwordHash: "x",
      createdAt: at,
    })),
  );
  const msgs = [1, 2, 3].map((seq) => ({
    _id: new Types.ObjectId(),
    conversationId: conv,
    seq,
    block: blockKey(conv.toHexString(), blockOf(seq)),
    senderId: seq === 2 ? bob : ann,
    body: `v2 message ${seq}`,
    clientId: `v2-${seq}`,
    createdAt: new Date(at.getTime() + seq * 1000),
  }));
  await db.collection("messages").insertMany(msgs);
  const { conversationId: _c, block: _b, ...last } = msgs[2]!;
  await db.collection("conversations").insertOne({
    _id: conv,
    kind: "group",
    title: "old group",
    memberIds: [ann, bob, cat],
    memberNames: ["ann", "bob", "cat"],
    directKey: `group:${conv.toHexString()}`,
    lastSeq: 3,
    lastMessage: last,
    lastSent: { [ann.toHexString()]: 3, [bob.toHexString()]: 2 },
    lastActivityAt: msgs[2]!.createdAt,
    createdAt: at,
  });
  // v2 gave every member an entry in reads (the conversation list is found through them)
  await db.collection<{ _id: string }>("reads").insertMany(
    [ann, bob, cat].map((userId) => ({
      _id: `${conv.toHexString()}:${userId.toHexString()}`,
      conversationId: conv,
      userId,
      seq: 0,
    })),
  );
  await db.collection<{ _id: string; version: number }>("meta").insertOne({ _id: "schema", version: 2 });
  await conn.close();
  // the api starts on the v2 database only now: started at once, its migration could write the
  // schema version before the v2 data above (found under a busy core: a duplicate key on meta)
  deps = openDeps(testConfig("unused", { mongoUrl: url }), createLogger("migrate", "silent"));
});

let deps: ReturnType<typeof openDeps>;
afterAll(async () => {
  await deps?.db.conn.dropDatabase().catch(() => {});
  await deps?.close();
});

test("v2 → v3: conversations get stateRev and lastRev; old messages read as text, unchanged; everything new works on them", async () => {
  await waitFor("the database migrated and ready", () => deps.db.ready(), 30_000);
  expect(SCHEMA_VERSION).toBe(3);
  expect((await deps.db.Meta.findById("schema").lean())?.version).toBe(3);
  const stored = await deps.db.Conversation.collection.findOne({ _id: conv });
  expect([stored?.stateRev, stored?.lastRev]).toEqual([0, 0]);

  const a = ann.toHexString();
  const page = await messages.history(deps, conv.toHexString(), a, {});
  expect(page.rev).toBe(0);
  expect(page.messages[1]).toMatchObject({
    seq: 2,
    body: "v2 message 2",
    kind: "text",
    system: null,
    replyTo: null,
    mentions: [],
    editedAt: null,
    deleted: false,
    reactions: [],
    version: 0,
  });
  const {
    conversations: [view],
  } = await conversations.list(deps, bob.toHexString(), {});
  expect(view).toMatchObject({ title: "old group", stateRev: 0, mentions: 0, muted: false, lastSeq: 3 });
  expect(view!.lastMessage).toMatchObject({ seq: 3, kind: "text", version: 0, deleted: false });

  // the conditional writes of v3 meet the migrated fields
  const renamed = await groups.rename(deps, conv.toHexString(), a, "new name");
  expect(renamed).toMatchObject({ title: "new name", stateRev: 1 });
  const edited = await changes.changeMessage(deps, conv.toHexString(), a, 3, { kind: "edit", body: "edited" });
  expect(edited).toMatchObject({ body: "edited", version: 1 });
  await deps.bookkeeper.settle();
  const after = await deps.db.Conversation.collection.findOne({ _id: conv });
  expect([after?.stateRev, after?.title, after?.lastSeq, after?.lastRev]).toEqual([1, "new name", 4, 1]);
}, 60_000);
