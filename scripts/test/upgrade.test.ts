/**
 * Upgrading a data folder of an earlier version: its documents (schema v1, kept by FerretDB on
 * SQLite) are copied to the PostgreSQL engine once, and the api brings them to the current
 * shape at start, so every conversation, message and read position is still there and served.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose, { Types } from "mongoose";
import { createLogger } from "@parley/kit/log";
import { openDeps } from "../../api/src/app.ts";
import { loadConfig } from "../../api/src/config.ts";
import * as conversations from "../../api/src/modules/conversations/service.ts";
import * as messages from "../../api/src/modules/messages/service.ts";
import * as users from "../../api/src/modules/users/service.ts";
import { startMongoCompatible, startRedis, stopAll, type Child } from "../lib/infra.ts";
import { freePort } from "../lib/ports.ts";
import { copySqliteData, sqliteDataToCopy } from "../lib/upgrade.ts";

const root = mkdtempSync(join(tmpdir(), "parley-upgrade-"));
chmodSync(root, 0o711);
const running: Child[] = [];
afterAll(async () => {
  await stopAll(running);
  rmSync(root, { recursive: true, force: true });
});

/** A database as version 1 of the api wrote it (no search keys, names, blocks or last-message copy). */
async function writeVersion1(url: string) {
  const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  const db = conn.db!;
  const [ann, bob] = [new Types.ObjectId(), new Types.ObjectId()];
  const conv = new Types.ObjectId();
  const at = new Date("2026-11-01T10:00:00Z");
  await db.collection("users").insertMany([
    { _id: ann, username: "Ann", usernameLower: "ann", passwordHash: "x", createdAt: at },
    { _id: bob, username: "bob", usernameLower: "bob", passwordHash: "x", createdAt: at },
  ]);
  const msgs = Array.from({ length: 130 }, (_, i) => ({
    _id: new Types.ObjectId(),
    conversationId: conv,
    seq: i + 1,
    senderId: i % 2 ? bob : ann,
    body: `old message ${i + 1}`,
    clientId: `old-${i + 1}`,
    createdAt: new Date(at.getTime() + i * 1000),
  }));
  await db.collection("messages").insertMany(msgs);
  await db.collection("conversations").insertOne({
    _id: conv,
    kind: "direct",
    title: null,
    memberIds: [ann, bob],
    directKey: [ann.toHexString(), bob.toHexString()].sort().join(":"),
    lastSeq: 130,
    lastMessageId: msgs[129]!._id,
    lastActivityAt: msgs[129]!.createdAt,
    createdAt: at,
  });
  await db
    .collection<{ _id: string; conversationId: Types.ObjectId; userId: Types.ObjectId; seq: number }>("reads")
    .insertOne({ _id: `${conv.toHexString()}:${bob.toHexString()}`, conversationId: conv, userId: bob, seq: 100 });
  await conn.close();
  return { ann: ann.toHexString(), bob: bob.toHexString(), conv: conv.toHexString() };
}

test("SQLite data of an earlier version is copied to PostgreSQL once and served in the current shape", async () => {
  const sqlite = await startMongoCompatible({ port: await freePort(), dataRoot: root, engine: "sqlite", logDir: root });
  const ids = await writeVersion1(`${sqlite.url}parley`);
  await stopAll(sqlite.children);
  expect(sqliteDataToCopy(root)).toBe(true);

  const pg = await startMongoCompatible({ port: await freePort(), dataRoot: root, engine: "postgresql", logDir: root });
  running.push(...pg.children);
  expect(await copySqliteData(root, pg.url, root)).toBe(2 + 130 + 1 + 1);
  expect(sqliteDataToCopy(root)).toBe(false);
  expect(existsSync(join(root, "mongo"))).toBe(true); // left as a backup

  const redisPort = await freePort();
  running.push(await startRedis({ port: redisPort, dataDir: join(root, "redis"), persist: false, quiet: true }));
  const deps = openDeps(
    loadConfig({
      JWT_SECRET: "upgrade-secret-0123456789-abcdefghijk",
      MONGO_URL: `${pg.url}parley`,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      LOG_LEVEL: "silent",
    }),
    createLogger("upgrade", "silent"),
  );
  try {
    const deadline = Date.now() + 30_000;
    while (!(await deps.db.ready()) && Date.now() < deadline) await Bun.sleep(100);
    expect(await deps.db.ready()).toBe(true);
    const {
      conversations: [list],
    } = await conversations.list(deps, ids.bob, {});
    expect(list).toMatchObject({ id: ids.conv, lastSeq: 130, readSeq: 100, unread: 30 });
    expect(list!.lastMessage).toMatchObject({ seq: 130, body: "old message 130" });
    expect(list!.members.map((m) => m.username)).toEqual(["Ann", "bob"]);
    const newest = await messages.history(deps, ids.conv, ids.ann, {});
    expect(newest.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 81 + i));
    const older = await messages.history(deps, ids.conv, ids.ann, { before: 81, limit: 100 });
    expect(older.messages.map((m) => m.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect((await users.search(deps, ids.bob, "an", 10)).map((u) => u.username)).toEqual(["Ann"]);
    // and the conversation goes on where it was
    const next = await messages.send(deps, ids.conv, ids.ann, { body: "after the upgrade", clientId: "new-1" });
    expect(next.message.seq).toBe(131);
  } finally {
    await deps.close();
  }
}, 120_000);
