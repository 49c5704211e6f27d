/**
 * Changes of existing messages — edit and delete (the sender's own), reactions (any member) —
 * and the catch-up on them.
 *
 * Each change is one insert: version n+1 of the message, as a document of `changes` whose `_id`
 * is derived from (message, n+1) and which the change sequencer numbers with the conversation's
 * next `rev`. Two changes made from version n (two people reacting at once) collide on the
 * `_id`: the sequencer hands the loser the winner's version, and the loser's change is made
 * again on top of it, so neither is lost. Revs are contiguous per conversation, so a client
 * that knows rev r asks for `?since=r` and gets every change after it, in order, once.
 *
 * Deleting empties the message document and every earlier version of it before answering: the
 * body leaves the database (the conversation's copy of its last message follows, bookkeeping.ts).
 */
import type { Change, ChangesPage, ChangesQuery, Message } from "@parley/contract";
import { CHANGES_PAGE_MAX, isSingleEmoji } from "@parley/contract/limits";
import { blockKey, blockOf, type ChangeDoc, type MessageDoc } from "../../libs/collections.ts";
import type { ConversationDoc } from "../../libs/db.ts";
import type { Deps } from "../../libs/deps.ts";
import { oid } from "../../libs/db.ts";
import { ApiError, invalid, notFound } from "../../libs/errors.ts";
import { changeId } from "../../libs/keys.ts";
import { allowOrRefuse } from "../../libs/ratelimit.ts";
import { memberConversation } from "../conversations/service.ts";
import { lastMessageOf, toMessage, withVersion } from "../conversations/views.ts";
import { BlockReader, changeSeries } from "../messages/blocks.ts";
import { HistoryReader } from "../messages/history-reader.ts";
import { checkedBody } from "../messages/service.ts";
import { newestVersions } from "../messages/versions.ts";
import { type Current, nextState, type Op } from "./apply.ts";

type ChangeDeps = Pick<
  Deps,
  "db" | "conversations" | "sequencer" | "changes" | "bookkeeper" | "publisher" | "limiter" | "config" | "log"
>;

/** Tries of a change that keeps meeting a concurrent one (each try means someone else's change landed). */
const MAX_ATTEMPTS = 50;

export async function changeMessage(
  deps: ChangeDeps,
  conversationId: string,
  userId: string,
  seq: number,
  requested: Op,
): Promise<Message> {
  const conv = await memberConversation(deps, conversationId, userId);
  const op = checked(requested);
  const { config } = deps;
  await allowOrRefuse(
    deps.limiter,
    `change:${userId}`,
    config.changeRateMax,
    config.changeRateWindowSeconds,
    "too many changes at once: wait a moment, then try again",
  );
  let now = await readMessage(deps, conversationId, seq);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const at = new Date();
    const next = nextState(now, op, userId, at);
    if (!next) return toMessage(now);
    const { kind, ...state } = next;
    const written = await deps.changes.write(
      {
        _id: changeId(now._id, state.version),
        conversationId: conv._id,
        msgBlock: blockKey(conversationId, blockOf(seq)),
        messageId: now._id,
        seq,
        senderId: now.senderId,
        clientId: now.clientId,
        sentAt: now.createdAt,
        replyTo: now.replyTo ?? null,
        mentions: now.mentions ?? [],
        kind,
        actorId: oid(userId),
        ...state,
        createdAt: at,
      },
      deps.changes.knownHead(conversationId) || (conv.lastRev ?? 0),
    );
    if (written.created) return afterChange(deps, conv, now, written.doc);
    // someone else made this version first: make ours on top of theirs
    now = withVersion(now, written.doc);
  }
  throw new ApiError("unavailable", "the message keeps changing: try again");
}

function checked(op: Op): Op {
  if (op.kind === "edit") return { kind: "edit", body: checkedBody(op.body) };
  if (op.kind === "reaction" && !isSingleEmoji(op.emoji))
    throw invalid("a reaction is one emoji", [{ path: "/emoji", message: "not a single emoji" }]);
  return op;
}

/** The message with this seq as it is now; 404 when the conversation has none. */
async function readMessage(deps: Pick<Deps, "db">, conversationId: string, seq: number): Promise<Current> {
  const [docs, versions] = await Promise.all([
    // as if seq were known to exist: a seq that does not is looked for again by block, then 404
    new HistoryReader(deps.db, conversationId, seq).range(seq, seq),
    newestVersions(deps.db, conversationId, [blockOf(seq)]),
  ]);
  const doc = docs.find((m) => m.seq === seq);
  if (!doc) throw notFound("no such message");
  return withVersion(doc, versions.get(doc._id.toHexString()));
}

async function afterChange(deps: ChangeDeps, conv: ConversationDoc, before: MessageDoc, v: ChangeDoc) {
  const conversationId = conv._id.toHexString();
  if (v.deleted) await forget(deps, before, v);
  const change = toChange(v);
  await deps.publisher.toUsers(
    conv.memberIds.map((m) => m.toHexString()),
    { type: "change", change },
    v.createdAt.getTime(),
  );
  // the preview follows when this may be the conversation's last message
  const known = Math.max(conv.lastSeq, deps.sequencer.knownHead(conversationId));
  const last = v.seq >= known ? lastMessageOf(withVersion(before, v)) : undefined;
  deps.bookkeeper.messageChanged(conversationId, v.rev, last);
  return change.message;
}

/** Removes a deleted message's body from its document and from every earlier version of it. */
async function forget(deps: Pick<Deps, "db">, message: MessageDoc, v: ChangeDoc) {
  await Promise.all([
    deps.db.Message.collection.updateOne({ _id: message._id }, { $set: { body: "", deleted: true } }),
    deps.db.Change.collection.updateMany(
      { msgBlock: v.msgBlock, messageId: message._id, version: { $lt: v.version } },
      { $set: { body: "" } },
    ),
  ]);
}

export const toChange = (v: ChangeDoc): Change => ({
  conversationId: v.conversationId.toHexString(),
  rev: v.rev,
  kind: v.kind,
  actorId: v.actorId.toHexString(),
  createdAt: v.createdAt.toISOString(),
  message: toMessage({
    _id: v.messageId,
    conversationId: v.conversationId,
    seq: v.seq,
    senderId: v.senderId,
    body: v.body,
    clientId: v.clientId,
    createdAt: v.sentAt,
    kind: "text",
    replyTo: v.replyTo,
    mentions: v.mentions,
    editedAt: v.editedAt,
    deleted: v.deleted,
    reactions: v.reactions,
    version: v.version,
  }),
});

/**
 * The changes after `since`, ascending rev, at most `limit`: a rev range, so one or two block
 * lookups. `rev` is where the client stands after applying them.
 */
export async function changesSince(
  deps: Pick<Deps, "db" | "conversations">,
  conversationId: string,
  userId: string,
  query: ChangesQuery,
): Promise<ChangesPage> {
  const conv = await memberConversation(deps, conversationId, userId);
  const since = query.since ?? 0;
  const limit = query.limit ?? CHANGES_PAGE_MAX;
  // one more than asked: whether it exists is hasMore; every rev up to the cached head exists
  const rows = await new BlockReader(changeSeries(deps.db), conversationId).range(
    since + 1,
    since + limit + 1,
    conv.lastRev ?? 0,
  );
  const page = rows.slice(0, limit);
  return { changes: page.map(toChange), hasMore: rows.length > limit, rev: page.at(-1)?.rev ?? since };
}
