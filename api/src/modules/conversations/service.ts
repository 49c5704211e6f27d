/**
 * Conversations: direct (exactly one other member, at most one per pair) and group (two or
 * more others). The creator is always a member. Anything you are not a member of is 404.
 */
import type { Conversation, ConversationsQuery, ConversationsResponse, CreateConversationBody } from "@parley/contract";
import { CONVERSATIONS_PAGE_DEFAULT } from "@parley/contract/limits";
import { cleanTitle } from "@parley/contract/text";
import { Types } from "mongoose";
import { readId } from "../../libs/collections.ts";
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
  if (others.length === 1) {
    // race-safe "create once": the pair's key is unique, so the loser of a race reads the winner's
    const directKey = [creatorId, others[0]!].sort().join(":");
    const existing = await db.Conversation.findOne({ directKey }).lean<ConversationDoc>();
    if (existing) return { conversation: await viewFor(deps, existing, creatorId), created: false };
    await countCreation(deps, creatorId);
    try {
      const doc = await db.Conversation.create({ ...base, kind: "direct", title: null, directKey });
      return { conversation: await announce(deps, doc.toObject()), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await db.Conversation.findOne({ directKey }).lean<ConversationDoc>();
      if (!winner) throw new ApiError("unavailable", "could not create the conversation, try again");
      return { conversation: await viewFor(deps, winner, creatorId), created: false };
    }
  }
  await countCreation(deps, creatorId);
  const _id = new Types.ObjectId();
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

/** Where a page ends: the stored activity time and id of its last conversation. */
const cursorOf = (c: ConversationDoc) => `${c.lastActivityAt.getTime()}_${c._id.toHexString()}`;
function parseCursor(cursor: string): { at: Date; id: Types.ObjectId } {
  const [ms = "", id = ""] = cursor.split("_");
  return { at: new Date(Number(ms)), id: oid(id) };
}

/**
 * One page of the user's conversations, newest activity first (creation, then each message),
 * and the cursor of the next: every conversation is reachable, however many there are. Two
 * lookups per page. A conversation whose activity changes while a client pages moves to the
 * first page (clients see that live); paging goes on from where it was.
 */
export async function list(
  { db, bookkeeper }: Pick<Deps, "db" | "bookkeeper">,
  userId: string,
  query: ConversationsQuery,
): Promise<ConversationsResponse> {
  const me = oid(userId);
  const limit = query.limit ?? CONVERSATIONS_PAGE_DEFAULT;
  const after = query.cursor ? parseCursor(query.cursor) : null;
  const older = after
    ? { $or: [{ lastActivityAt: { $lt: after.at } }, { lastActivityAt: after.at, _id: { $lt: after.id } }] }
    : {};
  const [found, reads] = await Promise.all([
    db.Conversation.find({ memberIds: me, ...older })
      .sort({ lastActivityAt: -1, _id: -1 })
      .limit(limit + 1)
      .lean<ConversationDoc[]>(),
    db.Read.find({ userId: me }).select({ conversationId: 1, seq: 1 }).lean(),
  ]);
  const page = found.slice(0, limit);
  const nextCursor = found.length > limit ? cursorOf(page[page.length - 1]!) : null;
  const readSeq = new Map(reads.map((r) => [r.conversationId.toHexString(), r.seq]));
  const current = page.map((c) => withUnwritten(c, bookkeeper));
  current.sort((x, y) => y.lastActivityAt.getTime() - x.lastActivityAt.getTime() || (y._id > x._id ? 1 : -1));
  const conversations = current.map((c) => {
    const id = c._id.toHexString();
    return viewOf(c, readSeqOf(c, userId, Math.max(readSeq.get(id) ?? 0, bookkeeper.unwrittenRead(id, userId))));
  });
  return { conversations, nextCursor };
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
