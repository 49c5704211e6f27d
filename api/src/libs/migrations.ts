/**
 * Brings a database written by an older api up to the current document shapes, once, at start
 * (before /readyz says "up"). The version lives in `meta` as `{_id: "schema", version}`; a
 * database without it is version 1 (or empty, where every step finds nothing to do).
 *
 * Steps are idempotent, so two api replicas starting together may both run them. They scan
 * whole collections (the documents to fix are found by a missing field, which no index
 * serves), which is why they run once per database and never on a request.
 */
import type { Collection, Model } from "mongoose";
import type { Logger } from "@parley/kit/log";
import {
  blockKey,
  blockOf,
  searchKeysOf,
  type ConversationDoc,
  type MessageDoc,
  type MetaDoc,
  type ReadDoc,
  type UserDoc,
} from "./collections.ts";

export const SCHEMA_VERSION = 3;
/**
 * Updates per bulk write. FerretDB 1.24 on PostgreSQL hangs on a bulk write of more than about
 * 50 updates (measured: 40 take 0.7 s, 60 never answer), so batches stay well below that.
 */
const BATCH = 20;

type Models = {
  User: Model<UserDoc>;
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

/** v1 → v2: search keys, member names and last message on conversations, history blocks. */
async function toV2(m: Models, log: Logger) {
  const users = await rewrite<UserDoc>(m.User.collection, { searchKeys: { $exists: false } }, async (u) => ({
    updateOne: { filter: { _id: u._id }, update: { $set: { searchKeys: searchKeysOf(u.usernameLower) } } },
  }));
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
  // unique indexes of v1 that _id now covers (it is derived from the same fields)
  await dropIndexIfPresent(m.Message.collection, "conversationId_1_senderId_1_clientId_1");
  await dropIndexIfPresent(m.Read.collection, "conversationId_1_userId_1");
  if (users + conversations + messages > 0)
    log.info({ users, conversations, messages }, "migrated documents to schema v2");
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
