/**
 * Conversations: direct (exactly one other member, at most one per pair) and group (two or
 * more others). The creator is always a member. Anything you are not a member of is 404.
 */
import type { Conversation, CreateConversationBody } from "@parley/contract";
import { type mongo, Types } from "mongoose";
import { readId, type ReadDoc } from "../../libs/collections.ts";
import type { Deps } from "../../libs/deps.ts";
import { isDuplicateKey, oid, type ConversationDoc } from "../../libs/db.ts";
import { ApiError, invalid, notFound } from "../../libs/errors.ts";
import { readSeqOf, viewOf, withUnwritten } from "./views.ts";

/** Most conversations one list answer carries. */
const LIST_MAX = 500;

/**
 * The conversation if `userId` is a member; otherwise 404, the same as when it does not exist.
 * From the cache: its lastSeq may lag (a lower bound), its members do not.
 */
export async function memberConversation(
  { conversations }: Pick<Deps, "conversations">,
  conversationId: string,
  userId: string,
): Promise<ConversationDoc> {
  const conv = await conversations.get(conversationId);
  if (!conv?.memberIds.some((m) => m.toHexString() === userId)) throw notFound("no such conversation");
  return conv;
}

export async function create(
  deps: Pick<Deps, "db" | "publisher" | "bookkeeper">,
  creatorId: string,
  { memberIds, title }: CreateConversationBody,
): Promise<{ conversation: Conversation; created: boolean }> {
  const { db } = deps;
  const others = [...new Set(memberIds)].filter((id) => id !== creatorId);
  if (others.length === 0) {
    throw invalid("add at least one member other than yourself", [{ path: "/memberIds", message: "only yourself" }]);
  }
  const ids = [creatorId, ...others];
  // one lookup by _id each (an index on every database), which also gives the names to keep
  const users = await Promise.all(ids.map((id) => db.User.findById(oid(id)).select({ username: 1 }).lean()));
  if (users.some((u, i) => !u && i > 0)) throw notFound("unknown member");
  const memberNames = users.map((u) => u?.username ?? "");
  const members = ids.map(oid);
  const now = new Date();
  const base = {
    memberIds: members,
    memberNames,
    lastSeq: 0,
    lastMessage: null,
    lastSent: {},
    lastActivityAt: now,
    createdAt: now,
  };
  const _id = new Types.ObjectId();
  if (others.length === 1) {
    // race-safe "create once": the pair's key is unique, so the loser of a race reads the winner's
    const directKey = [creatorId, others[0]!].sort().join(":");
    const existing = await db.Conversation.findOne({ directKey }).lean<ConversationDoc>();
    if (existing) {
      // an earlier attempt may have stopped before its members' entries were written
      await enlist(deps, existing._id, existing.memberIds);
      return { conversation: await viewFor(deps, existing, creatorId), created: false };
    }
    await enlist(deps, _id, members);
    try {
      const doc = await db.Conversation.create({ ...base, _id, kind: "direct", title: null, directKey });
      return { conversation: await announce(deps, doc.toObject()), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await db.Conversation.findOne({ directKey }).lean<ConversationDoc>();
      if (!winner) throw new ApiError("unavailable", "could not create the conversation, try again");
      await enlist(deps, winner._id, winner.memberIds);
      return { conversation: await viewFor(deps, winner, creatorId), created: false };
    }
  }
  await enlist(deps, _id, members);
  const doc = await db.Conversation.create({
    ...base,
    _id,
    kind: "group",
    title: title?.trim() || null,
    directKey: `group:${_id.toHexString()}`,
  });
  return { conversation: await announce(deps, doc.toObject()), created: true };
}

/**
 * Each member's entry in `reads` (read position 0): the conversation list is found through
 * them (see list). Written before the conversation, so a conversation never exists without
 * them; entries of a conversation that never got written are ignored by the list. Idempotent.
 */
async function enlist({ db }: Pick<Deps, "db">, conversationId: Types.ObjectId, memberIds: Types.ObjectId[]) {
  const id = conversationId.toHexString();
  const reads = db.Read.collection as unknown as mongo.Collection<ReadDoc>;
  await reads
    .insertMany(
      memberIds.map((userId) => ({ _id: readId(id, userId.toHexString()), conversationId, userId, seq: 0 })),
      { ordered: false },
    )
    .catch((err: { code?: number; writeErrors?: { code?: number }[] }) => {
      // entries that exist already (a retry, a race): nothing to do
      if (![err.writeErrors ?? err].flat().every((e) => e.code === 11000)) throw err;
    });
}

/** Publishes the new conversation to every member (nobody has read anything yet), returns it. */
async function announce(deps: Pick<Deps, "publisher">, conv: ConversationDoc): Promise<Conversation> {
  const committedAt = Date.now();
  const view = viewOf(conv, 0);
  await deps.publisher.toUsers(
    conv.memberIds.map((m) => m.toHexString()),
    { type: "conversation", conversation: view },
    committedAt,
  );
  return view;
}

async function viewFor(
  { db, bookkeeper }: Pick<Deps, "db" | "bookkeeper">,
  conv: ConversationDoc,
  viewerId: string,
): Promise<Conversation> {
  const id = conv._id.toHexString();
  const read = await db.Read.findById(readId(id, viewerId)).select({ seq: 1 }).lean();
  const current = withUnwritten(conv, bookkeeper);
  return viewOf(
    current,
    readSeqOf(current, viewerId, Math.max(read?.seq ?? 0, bookkeeper.unwrittenRead(id, viewerId))),
  );
}

/**
 * Newest activity first (creation, then each message). The user's entries in `reads` say which
 * conversations (one indexed lookup of small documents); the conversations themselves come
 * from the conversation cache, where FerretDB's cost of decoding each document is paid once,
 * not on every list. A conversation the user is no longer a member of is left out.
 */
export async function list(
  { db, bookkeeper, conversations }: Pick<Deps, "db" | "bookkeeper" | "conversations">,
  userId: string,
): Promise<Conversation[]> {
  const reads = await db.Read.find({ userId: oid(userId) })
    .select({ conversationId: 1, seq: 1 })
    .lean();
  const readSeq = new Map(reads.map((r) => [r.conversationId.toHexString(), r.seq]));
  const convs = await conversations.getMany([...readSeq.keys()]);
  const current = convs
    .filter((c) => c.memberIds.some((m) => m.toHexString() === userId))
    .map((c) => withUnwritten(c, bookkeeper));
  current.sort((x, y) => y.lastActivityAt.getTime() - x.lastActivityAt.getTime() || (y._id > x._id ? 1 : -1));
  return current.slice(0, LIST_MAX).map((c) => {
    const id = c._id.toHexString();
    return viewOf(c, readSeqOf(c, userId, Math.max(readSeq.get(id) ?? 0, bookkeeper.unwrittenRead(id, userId))));
  });
}

/** One conversation, read fresh (the cache's lastSeq may lag). */
export async function get(
  deps: Pick<Deps, "db" | "bookkeeper">,
  conversationId: string,
  userId: string,
): Promise<Conversation> {
  const conv = await deps.db.Conversation.findById(oid(conversationId)).lean<ConversationDoc>();
  if (!conv?.memberIds.some((m) => m.toHexString() === userId)) throw notFound("no such conversation");
  return viewFor(deps, conv, userId);
}
