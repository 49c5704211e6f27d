/**
 * Brings a database written by an older api up to the current document shapes, once, at start
 * (before /readyz says "up"). The version lives in `meta` as `{_id: "schema", version}`; a
 * database without it is version 1 (or empty, where every step finds nothing to do).
 *
 * Steps are idempotent, so two api replicas starting together may both run them. They scan
 * whole collections (the documents to fix are found by a missing field, which no index
 * serves), which is why they run once per database and never on a request.
 */
import type { Collection, Model, mongo, Types } from "mongoose";
import type { Logger } from "@parley/kit/log";
import {
  blockKey,
  blockOf,
  readId,
  prefixEntries,
  type ConversationDoc,
  type MessageDoc,
  type MetaDoc,
  type ReadDoc,
  type UserDoc,
  type UsernamePrefixDoc,
} from "./collections.ts";

export const SCHEMA_VERSION = 3;
/**
 * Updates per bulk write. FerretDB 1.24 on PostgreSQL hangs on a bulk write of more than about
 * 50 updates (measured: 40 take 0.7 s, 60 never answer), so batches stay well below that.
 */
const BATCH = 20;

type Models = {
  User: Model<UserDoc>;
  UsernamePrefix: Model<UsernamePrefixDoc>;
  Conversation: Model<ConversationDoc>;
  Message: Model<MessageDoc>;
  Read: Model<ReadDoc>;
  Meta: Model<MetaDoc>;
};

type Update = { updateOne: { filter: Record<string, unknown>; update: Record<string, unknown> } };

/** Applies `fix` to every document matching `filter`, writing in batches. Returns how many. */
async function rewrite<T>(
  collection: Collection,
  filter: Record<string, unknown>,
  fix: (doc: T) => Promise<Update | null>,
) {
  let batch: Update[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length > 0) await collection.bulkWrite(batch, { ordered: false });
    n += batch.length;
    batch = [];
  };
  for await (const doc of collection.find(filter)) {
    const update = await fix(doc as T);
    if (update) batch.push(update);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return n;
}

async function dropIndexIfPresent(collection: Collection, name: string) {
  const names = (await collection.indexes().catch(() => [])).map((i) => i.name);
  if (names.includes(name)) await collection.dropIndex(name).catch(() => {});
}

/** Every user's name prefixes in `usernamePrefixes` (the user search). Duplicates skipped (idempotent). */
async function indexNames(m: Models): Promise<number> {
  const prefixes = m.UsernamePrefix.collection as unknown as mongo.Collection<UsernamePrefixDoc>;
  let batch: UsernamePrefixDoc[] = [];
  let added = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    added += await insertSkippingDuplicates(prefixes, batch);
    batch = [];
  };
  for await (const u of m.User.collection.find({}, { projection: { username: 1 } })) {
    batch.push(...prefixEntries({ _id: u._id as Types.ObjectId, username: u.username as string }));
    if (batch.length >= 500) await flush();
  }
  await flush();
  return added;
}

/** Inserts documents that are not there yet; returns how many were new. */
async function insertSkippingDuplicates<T extends { _id: unknown }>(collection: mongo.Collection<T>, docs: T[]) {
  const res = await collection
    .insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered: false })
    .catch((err: mongo.MongoBulkWriteError) => {
      if ([err.writeErrors].flat().some((e) => e.code !== 11000)) throw err;
      return { insertedCount: err.insertedCount };
    });
  return res.insertedCount;
}

/**
 * Every member of every conversation gets an entry in `reads` (position 0 where none exists):
 * the conversation list is found through them. Inserts, duplicates skipped (idempotent).
 */
async function enlistAll(m: Models): Promise<number> {
  const reads = m.Read.collection as unknown as mongo.Collection<ReadDoc>;
  let batch: ReadDoc[] = [];
  let added = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    added += await insertSkippingDuplicates(reads, batch);
    batch = [];
  };
  for await (const c of m.Conversation.collection.find({}, { projection: { memberIds: 1 } })) {
    const id = (c._id as Types.ObjectId).toHexString();
    for (const userId of c.memberIds as Types.ObjectId[]) {
      batch.push({ _id: readId(id, userId.toHexString()), conversationId: c._id as Types.ObjectId, userId, seq: 0 });
    }
    if (batch.length >= 500) await flush();
  }
  await flush();
  return added;
}

/** v1 → v2: name prefixes, member names and last message on conversations, history blocks, member entries. */
async function toV2(m: Models, log: Logger) {
  const users = await indexNames(m);
  const names = new Map<string, string>();
  const nameOf = async (id: { toHexString(): string }) => {
    const key = id.toHexString();
    if (!names.has(key)) names.set(key, (await m.User.findById(id).select({ username: 1 }).lean())?.username ?? "");
    return names.get(key)!;
  };
  const conversations = await rewrite<ConversationDoc & { lastMessageId?: MessageDoc["_id"] | null }>(
    m.Conversation.collection,
    { memberNames: { $exists: false } },
    async (c) => {
      const old = c as ConversationDoc & { lastMessageId?: MessageDoc["_id"] | null };
      const last = old.lastMessageId ? await m.Message.findById(old.lastMessageId).lean() : null;
      const memberNames = await Promise.all(c.memberIds.map(nameOf));
      const lastMessage = last
        ? {
            _id: last._id,
            seq: last.seq,
            senderId: last.senderId,
            body: last.body,
            clientId: last.clientId,
            createdAt: last.createdAt,
          }
        : null;
      return {
        updateOne: {
          filter: { _id: c._id },
          update: { $set: { memberNames, lastMessage }, $unset: { lastMessageId: "" } },
        },
      };
    },
  );
  const messages = await rewrite<MessageDoc>(m.Message.collection, { block: { $exists: false } }, async (msg) => ({
    updateOne: {
      filter: { _id: msg._id },
      update: { $set: { block: blockKey(msg.conversationId.toHexString(), blockOf(msg.seq)) } },
    },
  }));
  const entries = await enlistAll(m);
  // unique indexes of v1 that _id now covers (it is derived from the same fields)
  await dropIndexIfPresent(m.Message.collection, "conversationId_1_senderId_1_clientId_1");
  await dropIndexIfPresent(m.Read.collection, "conversationId_1_userId_1");
  if (users + conversations + messages + entries > 0) {
    log.info({ users, conversations, messages, memberEntries: entries }, "migrated documents to schema v2");
  }
}

/**
 * v2 → v3: conversations get the version of their name and member list (`stateRev`) and of
 * their messages' changes (`lastRev`). Writers raise them with conditions such as
 * `stateRev < n`, which a missing field never meets. Messages need nothing: the fields v3 added
 * to them (kind, system, replyTo, mentions, deleted) read as their defaults when absent, and
 * rewriting every message of a large history is what this step avoids.
 */
async function toV3(m: Models, log: Logger) {
  const conversations = await rewrite<ConversationDoc>(
    m.Conversation.collection,
    { stateRev: { $exists: false } },
    async (c) => ({ updateOne: { filter: { _id: c._id }, update: { $set: { stateRev: 0, lastRev: 0 } } } }),
  );
  if (conversations > 0) log.info({ conversations }, "migrated documents to schema v3");
}

export async function migrate(m: Models, log: Logger): Promise<void> {
  const version = (await m.Meta.findById("schema").lean())?.version ?? 1;
  if (version >= SCHEMA_VERSION) return;
  if (version < 2) await toV2(m, log);
  if (version < 3) await toV3(m, log);
  await m.Meta.updateOne({ _id: "schema" }, { $set: { version: SCHEMA_VERSION } }, { upsert: true }).catch((err) => {
    // another api process recorded it at the same moment
    if ((err as { code?: number }).code !== 11000) throw err;
  });
}
