/**
 * Messages: per-conversation seq 1, 2, 3… with no gap and no repeat under concurrent senders
 * (several api processes included), idempotent by clientId, and read positions that never
 * move back.
 *
 * A send costs one database write (the insert, see sequencer.ts) and one Redis round trip (the
 * fan-out with the rate counter); membership comes from a short-lived cache and the lastSeq and
 * read-position bookkeeping happens afterwards, coalesced (bookkeeping.ts). A message that
 * mentions members costs one more insert (their unread mentions).
 */
import type { Message, MessagesPage, MessagesQuery, SendMessageBody } from "@parley/contract";
import { MESSAGE_BODY_MAX, mentionedNames, PAGE_DEFAULT } from "@parley/contract/limits";
import { hasVisibleText } from "@parley/contract/text";
import type { Types } from "mongoose";
import { messageId, type MessageDoc } from "../../libs/collections.ts";
import type { ConversationDoc } from "../../libs/db.ts";
import { oid } from "../../libs/db.ts";
import type { Deps } from "../../libs/deps.ts";
import { ApiError, invalid, rateLimited } from "../../libs/errors.ts";
import { mentionId } from "../../libs/keys.ts";
import { memberConversation } from "../conversations/service.ts";
import { lastMessageOf, readSeqOf, sentState, toMessage } from "../conversations/views.ts";
import { HistoryReader } from "./history-reader.ts";
import { repairOrphans } from "./orphans.ts";
import { asTheyAreNow, changeHead } from "./versions.ts";

type SendDeps = Pick<
  Deps,
  "db" | "conversations" | "sequencer" | "bookkeeper" | "sendRate" | "publisher" | "metrics" | "log"
>;

export async function send(
  deps: SendDeps,
  conversationId: string,
  senderId: string,
  input: SendMessageBody,
): Promise<{ message: Message; created: boolean }> {
  const conv = await memberConversation(deps, conversationId, senderId);
  const body = checkedBody(input.body);
  if (input.replyTo !== undefined && !(await exists(deps, conv, input.replyTo)))
    throw invalid("replyTo names no message of this conversation", [{ path: "/replyTo", message: "no such seq" }]);

  const _id = messageId(conversationId, senderId, input.clientId);
  const wait = deps.sendRate.reserve(senderId);
  if (wait > 0) {
    // a retry of a message already sent is answered, never refused
    const original = await deps.db.Message.collection.findOne<MessageDoc>({ _id });
    if (!original) throw rateLimited(wait, "too many messages at once: wait a moment, then send again");
    const message = toMessage(original);
    await afterReplay(deps, conv.memberIds, original, message);
    return { message, created: false };
  }
  let written: Awaited<ReturnType<typeof deps.sequencer.write>>;
  try {
    written = await deps.sequencer.write(
      {
        _id,
        conversationId: conv._id,
        senderId: oid(senderId),
        body,
        clientId: input.clientId,
        createdAt: new Date(),
        kind: "text",
        system: null,
        replyTo: input.replyTo ?? null,
        mentions: mentionsIn(conv, body, senderId),
        deleted: false,
      },
      deps.sequencer.knownHead(conversationId) || conv.lastSeq,
    );
  } catch (err) {
    deps.sendRate.settle(senderId, false);
    throw err;
  }
  // a replay (same clientId again) answers with the original and is not counted
  deps.sendRate.settle(senderId, written.created);
  const message = toMessage({ ...written.doc, ...sentState(written.doc) });
  // committed: from here on nothing may turn this send into an error retried as a new one
  if (written.created) await afterCommit(deps, conv.memberIds, written.doc, message);
  else await afterReplay(deps, conv.memberIds, written.doc, message);
  return { message, created: written.created };
}

/**
 * A send retried with the same clientId: the original is answered, and its event published
 * again and its bookkeeping raised again. The first attempt may have been committed without
 * either (its answer timed out, its api process died, Redis was away): a retry repairs that.
 * Members may get the event twice; clients drop the second (same id and seq, and a version
 * no newer than what they hold).
 */
async function afterReplay(deps: SendDeps, memberIds: { toHexString(): string }[], doc: MessageDoc, message: Message) {
  await deps.publisher.toUsers(
    memberIds.map((m) => m.toHexString()),
    { type: "message", message },
  );
  deps.bookkeeper.messageCommitted(message.conversationId, lastMessageOf({ ...doc, ...sentState(doc) }));
}

/** A message body as stored: trimmed, 1 to MESSAGE_BODY_MAX characters (422 empty, 413 longer). */
export function checkedBody(raw: string): string {
  const body = raw.trim();
  // zero-width and other invisible characters alone are an empty message too
  if (!hasVisibleText(body)) throw invalid("the message is empty", [{ path: "/body", message: "nothing visible" }]);
  // the contract counts characters: code points, so an emoji is one, not two UTF-16 units
  if (body.length > MESSAGE_BODY_MAX && [...body].length > MESSAGE_BODY_MAX) {
    throw new ApiError("payload_too_large", `a message is at most ${MESSAGE_BODY_MAX} characters`);
  }
  return body;
}

/** Whether a message with this seq exists in the conversation (seqs are contiguous). */
async function exists(deps: Pick<Deps, "db" | "sequencer">, conv: ConversationDoc, seq: number) {
  const id = conv._id.toHexString();
  const known = Math.max(conv.lastSeq, deps.sequencer.knownHead(id));
  return seq <= known || seq <= (await new HistoryReader(deps.db, id, known).head(known));
}

/** The members (other than the sender) a body names with @username. */
function mentionsIn(conv: ConversationDoc, body: string, senderId: string): Types.ObjectId[] {
  const names = mentionedNames(body);
  if (names.length === 0) return [];
  return conv.memberIds.filter(
    (id, i) => id.toHexString() !== senderId && names.includes((conv.memberNames[i] ?? "").toLowerCase()),
  );
}

async function afterCommit(deps: SendDeps, memberIds: { toHexString(): string }[], doc: MessageDoc, message: Message) {
  const committedAt = Date.now();
  deps.metrics.messagesSent.inc();
  const mentioned = doc.mentions ?? [];
  if (mentioned.length > 0) {
    // before the event: a list asked for on hearing it counts the mention
    const conversationId = doc.conversationId.toHexString();
    await deps.db.Mention.collection
      .insertMany(
        mentioned.map((userId) => ({
          _id: mentionId(conversationId, userId.toHexString(), doc.seq),
          userId,
          conversationId: doc.conversationId,
          seq: doc.seq,
        })) as object[],
        { ordered: false },
      )
      .catch((err: Error) => deps.log.warn({ err: err.message }, "could not record mentions"));
  }
  const counter = deps.sendRate.counter(message.senderId);
  // one round trip: the sender's rate counter (whose answer tells this process what the other
  // api processes counted) and the event for every member
  await deps.publisher.toUsers(
    memberIds.map((m) => m.toHexString()),
    { type: "message", message },
    committedAt,
    {
      commands: [
        ["incr", counter.key],
        ["expire", counter.key, counter.ttlSeconds],
      ],
      onResults: ([total]) => {
        if (typeof total === "number") deps.sendRate.learn(message.senderId, counter.window, total);
      },
    },
  );
  // lastSeq, and the sender having read up to their own message, recorded later (coalesced)
  deps.bookkeeper.messageCommitted(message.conversationId, lastMessageOf({ ...doc, ...sentState(doc) }));
}

/**
 * A page of history, ascending: `after` (catch up: the next messages above a seq), `before`
 * (older: the messages below a seq), or neither (the newest). Seqs are contiguous, so a page is
 * a seq range, read from the few page blocks it spans (history-reader.ts).
 */
export async function history(
  deps: Pick<Deps, "conversations" | "sequencer" | "changes" | "db" | "bookkeeper" | "publisher" | "metrics" | "log">,
  conversationId: string,
  userId: string,
  query: MessagesQuery,
): Promise<MessagesPage> {
  const conv = await memberConversation(deps, conversationId, userId);
  if (query.after !== undefined && query.before !== undefined) {
    throw invalid("give either after or before, not both", [
      { path: "/after", message: "with before" },
      { path: "/before", message: "with after" },
    ]);
  }
  const limit = query.limit ?? PAGE_DEFAULT;
  const known = Math.max(conv.lastSeq, deps.sequencer.knownHead(conversationId));
  const pages = new HistoryReader(deps.db, conversationId, known);
  // the change head first: every version up to it is then found with the page's messages
  const rev = changeHead(deps.db, conversationId, Math.max(conv.lastRev ?? 0, deps.changes.knownHead(conversationId)));
  // awaited below; should the page's own read fail first, its failure is the one that answers
  rev.catch(() => undefined);
  const page = async (rows: MessageDoc[]) =>
    (await asTheyAreNow(deps.db, conversationId, rows, await rev)).map(toMessage);
  if (query.after !== undefined) {
    // one more than asked: whether it exists is hasMore
    const rows = await pages.range(query.after + 1, query.after + limit + 1);
    await repairOrphans(deps, conv, rows);
    return { messages: await page(rows.slice(0, limit)), hasMore: rows.length > limit, rev: await rev };
  }
  const below = query.before === undefined ? Number.POSITIVE_INFINITY : query.before - 1;
  // the newest page, or a `before` above what is known to exist: find the real head first
  const top = below <= known ? below : Math.min(below, await pages.head(known));
  const rows = await pages.range(top - limit + 1, top);
  await repairOrphans(deps, conv, rows);
  // every seq below the first one exists
  return { messages: await page(rows), hasMore: (rows[0]?.seq ?? 1) > 1, rev: await rev };
}

/**
 * Moves the caller's read position forward. A seq above the conversation's last seq is clamped
 * to it; a lower or equal one changes nothing. Members are told when it advanced.
 */
export async function markRead(
  deps: Pick<Deps, "conversations" | "sequencer" | "bookkeeper" | "publisher" | "db">,
  conversationId: string,
  userId: string,
  seq: number,
): Promise<void> {
  const conv = await memberConversation(deps, conversationId, userId);
  const known = Math.max(conv.lastSeq, deps.sequencer.knownHead(conversationId));
  // only a position above what is known to exist needs a look at the newest messages
  const head = seq > known ? await new HistoryReader(deps.db, conversationId, known).head(known) : known;
  const target = Math.min(seq, head);
  // nothing to do at or below what they sent themselves (they have read that far already)
  const sent = Math.max(readSeqOf(conv, userId, 0), deps.bookkeeper.unwrittenMarks(conversationId)?.sent[userId] ?? 0);
  if (target < 1 || target <= sent) return;
  if (!(await deps.bookkeeper.raiseRead(conversationId, userId, target))) return;
  // the mentions read now are not counted any more (viewOf); this only keeps the list short
  void deps.db.Mention.collection
    .deleteMany({ userId: oid(userId), conversationId: oid(conversationId), seq: { $lte: target } })
    .catch(() => undefined);
  await deps.publisher.toUsers(
    conv.memberIds.map((m) => m.toHexString()),
    { type: "read", conversationId, userId, seq: target },
  );
}
