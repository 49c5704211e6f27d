/**
 * Conversations: direct (exactly one other member, at most one per pair) and group (two or
 * more others). The creator is always a member. Anything you are not a member of is 404.
 */
import type {
  Conversation,
  ConversationMembersResponse,
  ConversationsQuery,
  ConversationsResponse,
  CreateConversationBody,
} from "@parley/contract";
import { CONVERSATIONS_PAGE_DEFAULT } from "@parley/contract/limits";
import { cleanTitle } from "@parley/contract/text";
import { type mongo, Types } from "mongoose";
import type { ReadDoc } from "../../libs/collections.ts";
import type { Deps } from "../../libs/deps.ts";
import { isDuplicateKey, oid, type ConversationDoc } from "../../libs/db.ts";
import { ApiError, invalid, notFound, rateLimited } from "../../libs/errors.ts";
import { prefId, readId } from "../../libs/keys.ts";
import { current, isMember } from "./state.ts";
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
  if (!conv || !isMember(conv, userId)) throw notFound("no such conversation");
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
    stateRev: 0,
    lastRev: 0,
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
  const view = viewOf(conv, { readSeq: 0, mentionSeqs: [], muted: false });
  await deps.publisher.toUsers(
    conv.memberIds.map((m) => m.toHexString()),
    { type: "conversation", conversation: view },
    committedAt,
  );
  return view;
}

/** One member's view of a conversation: their read position, unread mentions and mute. */
export async function viewFor(
  { db, bookkeeper }: Pick<Deps, "db" | "bookkeeper">,
  conv: ConversationDoc,
  viewerId: string,
): Promise<Conversation> {
  const id = conv._id.toHexString();
  const [read, mentions, pref] = await Promise.all([
    db.Read.findById(readId(id, viewerId)).select({ seq: 1 }).lean(),
    db.Mention.find({ userId: oid(viewerId) })
      .select({ conversationId: 1, seq: 1 })
      .lean(),
    db.Pref.findById(prefId(id, viewerId)).select({ muted: 1 }).lean(),
  ]);
  const here = withUnwritten(conv, bookkeeper);
  return viewOf(here, {
    readSeq: readSeqOf(here, viewerId, Math.max(read?.seq ?? 0, bookkeeper.unwrittenRead(id, viewerId))),
    mentionSeqs: mentions.filter((m) => m.conversationId.equals(conv._id)).map((m) => m.seq),
    muted: pref?.muted ?? false,
  });
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
 * decoding each document is paid once, not on every list; unread mentions and settings are two
 * more lookups. A conversation the user is no longer
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
  const me = oid(userId);
  const [reads, mentions, prefs] = await Promise.all([
    db.Read.find({ userId: me }).select({ conversationId: 1, seq: 1 }).lean(),
    db.Mention.find({ userId: me }).select({ conversationId: 1, seq: 1 }).lean(),
    db.Pref.find({ userId: me }).select({ conversationId: 1, muted: 1 }).lean(),
  ]);
  const readSeq = new Map(reads.map((r) => [r.conversationId.toHexString(), r.seq]));
  const here = await newestFirst({ bookkeeper, conversations }, userId, [...readSeq.keys()]);
  const muted = new Set(prefs.filter((p) => p.muted).map((p) => p.conversationId.toHexString()));
  const mentionSeqs = new Map<string, number[]>();
  for (const m of mentions) {
    const key = m.conversationId.toHexString();
    mentionSeqs.set(key, [...(mentionSeqs.get(key) ?? []), m.seq]);
  }
  // older than the cursor: earlier activity, or the same moment and a smaller id
  const rest = after
    ? here.filter((c) => {
        const at = c.lastActivityAt.getTime();
        return at < after.at || (at === after.at && c._id.toHexString() < after.id);
      })
    : here;
  const page = rest.slice(0, limit);
  const nextCursor = rest.length > limit ? cursorOf(page[page.length - 1]!) : null;
  const views = page.map((c) => {
    const id = c._id.toHexString();
    return viewOf(c, {
      readSeq: readSeqOf(c, userId, Math.max(readSeq.get(id) ?? 0, bookkeeper.unwrittenRead(id, userId))),
      mentionSeqs: mentionSeqs.get(id) ?? [],
      muted: muted.has(id),
    });
  });
  return { conversations: views, nextCursor };
}

/**
 * Who is in each of the user's most recent conversations, and the version of each member list:
 * what realtime follows presence for and learns membership from when a user's first socket opens
 * there. The list's first page without its unread counts, mentions and settings: one lookup in
 * `reads` and the conversation cache, where the list makes three lookups.
 */
export async function members(
  { db, bookkeeper, conversations }: Pick<Deps, "db" | "bookkeeper" | "conversations">,
  userId: string,
  limit: number,
): Promise<ConversationMembersResponse> {
  const reads = await db.Read.find({ userId: oid(userId) })
    .select({ conversationId: 1 })
    .lean();
  const here = await newestFirst(
    { bookkeeper, conversations },
    userId,
    reads.map((r) => r.conversationId.toHexString()),
  );
  return {
    conversations: here.slice(0, limit).map((c) => ({
      id: c._id.toHexString(),
      memberIds: c.memberIds.map((m) => m.toHexString()),
      stateRev: c.stateRev ?? 0,
    })),
  };
}

/**
 * The user's conversations among `ids` (their entries in `reads`), as they are now (sends not
 * yet written included), those they are still a member of, newest activity first (ties: the
 * larger id first, which the list's cursor relies on).
 */
async function newestFirst(
  { bookkeeper, conversations }: Pick<Deps, "bookkeeper" | "conversations">,
  userId: string,
  ids: string[],
): Promise<ConversationDoc[]> {
  const convs = await conversations.getMany(ids);
  const here = convs.map((c) => withUnwritten(c, bookkeeper)).filter((c) => isMember(c, userId));
  here.sort((x, y) => y.lastActivityAt.getTime() - x.lastActivityAt.getTime() || (y._id > x._id ? 1 : -1));
  return here;
}

/** One conversation, read fresh (the cache's lastSeq may lag), with its newest members. */
export async function get(
  deps: Pick<Deps, "db" | "bookkeeper">,
  conversationId: string,
  userId: string,
): Promise<Conversation> {
  const doc = await deps.db.Conversation.findById(oid(conversationId)).lean<ConversationDoc>();
  const conv = doc && (await current(deps.db, doc));
  if (!conv || !isMember(conv, userId)) throw notFound("no such conversation");
  return viewFor(deps, conv, userId);
}

/** Mutes or unmutes a conversation for the caller; their other tabs hear of it. */
export async function setMuted(
  deps: Pick<Deps, "db" | "bookkeeper" | "conversations" | "publisher">,
  conversationId: string,
  userId: string,
  muted: boolean,
): Promise<Conversation> {
  await memberConversation(deps, conversationId, userId);
  await deps.db.Pref.collection.updateOne(
    { _id: prefId(conversationId, userId) } as object,
    { $set: { muted, userId: oid(userId), conversationId: oid(conversationId) } },
    { upsert: true },
  );
  const view = await get(deps, conversationId, userId);
  await deps.publisher.toUsers([userId], { type: "conversation", conversation: view });
  return view;
}
