/**
 * Conversations: direct (exactly one other member, at most one per pair) and group (two or
 * more others). The creator is always a member. Anything you are not a member of is 404.
 */
import type { Conversation, ConversationsQuery, ConversationsResponse, CreateConversationBody } from "@parley/contract";
import { CONVERSATIONS_PAGE_DEFAULT } from "@parley/contract/limits";
import { cleanTitle } from "@parley/contract/text";
import { type mongo, Types } from "mongoose";
import { readId, type ReadDoc } from "../../libs/collections.ts";
import type { Deps } from "../../libs/deps.ts";
import { isDuplicateKey, oid, type ConversationDoc } from "../../libs/db.ts";
import { ApiError, invalid, notFound, rateLimited } from "../../libs/errors.ts";
import { readSeqOf, viewOf, withUnwritten } from "./views.ts";

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

/**
 * A new conversation counts against its creator's CONVERSATION_CREATE_MAX per window: otherwise
 * one account could add anyone to any number of groups and bury their real conversations.
 * Opening a direct chat that exists already costs nothing.
 */
async function countCreation(deps: Pick<Deps, "limiter" | "config">, creatorId: string): Promise<void> {
  const { config } = deps;
  const [w] =
    (await deps.limiter.hit([`conversation:create:${creatorId}`], config.conversationCreateWindowSeconds)) ?? [];
  if (w && w.count > config.conversationCreateMax) {
    throw rateLimited(w.retryAfterSeconds, "too many new conversations; wait a while before starting another");
  }
}

export async function create(
  deps: Pick<Deps, "db" | "publisher" | "bookkeeper" | "limiter" | "config">,
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
    await countCreation(deps, creatorId);
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
  await countCreation(deps, creatorId);
  await enlist(deps, _id, members);
  const doc = await db.Conversation.create({
    ...base,
    _id,
    kind: "group",
    // no direction overrides or invisible characters: a title must read as what it is
    title: cleanTitle(title),
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

/** Where a page ends: the activity time and id of its last conversation. */
const cursorOf = (c: ConversationDoc) => `${c.lastActivityAt.getTime()}_${c._id.toHexString()}`;
function parseCursor(cursor: string): { at: number; id: string } {
  const [ms = "", id = ""] = cursor.split("_");
  return { at: Number(ms), id };
}

/**
 * One page of the user's conversations, newest activity first (creation, then each message),
 * and the cursor of the next: every conversation is reachable, however many there are. The
 * user's entries in `reads` say which conversations (one indexed lookup of small documents);
 * the conversations themselves come from the conversation cache, where FerretDB's cost of
 * decoding each document is paid once, not on every list. A conversation the user is no longer
 * a member of is left out. One whose activity changes while a client pages moves to the first
 * page (clients see that live); paging goes on from where it was.
 */
export async function list(
  { db, bookkeeper, conversations }: Pick<Deps, "db" | "bookkeeper" | "conversations">,
  userId: string,
  query: ConversationsQuery,
): Promise<ConversationsResponse> {
  const limit = query.limit ?? CONVERSATIONS_PAGE_DEFAULT;
  const after = query.cursor ? parseCursor(query.cursor) : null;
  const reads = await db.Read.find({ userId: oid(userId) })
    .select({ conversationId: 1, seq: 1 })
    .lean();
  const readSeq = new Map(reads.map((r) => [r.conversationId.toHexString(), r.seq]));
  const convs = await conversations.getMany([...readSeq.keys()]);
  const current = convs
    .filter((c) => c.memberIds.some((m) => m.toHexString() === userId))
    .map((c) => withUnwritten(c, bookkeeper));
  current.sort((x, y) => y.lastActivityAt.getTime() - x.lastActivityAt.getTime() || (y._id > x._id ? 1 : -1));
  // older than the cursor: earlier activity, or the same moment and a smaller id
  const rest = after
    ? current.filter((c) => {
        const at = c.lastActivityAt.getTime();
        return at < after.at || (at === after.at && c._id.toHexString() < after.id);
      })
    : current;
  const page = rest.slice(0, limit);
  const nextCursor = rest.length > limit ? cursorOf(page[page.length - 1]!) : null;
  const views = page.map((c) => {
    const id = c._id.toHexString();
    return viewOf(c, readSeqOf(c, userId, Math.max(readSeq.get(id) ?? 0, bookkeeper.unwrittenRead(id, userId))));
  });
  return { conversations: views, nextCursor };
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
