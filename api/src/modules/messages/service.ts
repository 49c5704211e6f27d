/**
 * Messages: per-conversation seq 1, 2, 3… with no gap and no repeat under concurrent senders,
 * idempotent by clientId, and read positions that never move back.
 *
 * Seq allocation rests on unique indexes only (no atomic counter exists on FerretDB): insert
 * with the next seq; a conflict on (conversationId, seq) means someone else took it: retry with
 * a fresh next; a conflict on (conversationId, senderId, clientId) means this send already
 * happened: return the original.
 */
import type { Message, MessagesPage, MessagesQuery, SendMessageBody } from "@parley/contract";
import { MESSAGE_BODY_MAX, PAGE_DEFAULT } from "@parley/contract/limits";
import type { Deps } from "../../libs/deps.ts";
import { isDuplicateKey, isTransientWriteError, messageId, oid } from "../../libs/db.ts";
import { ApiError, invalid, rateLimited } from "../../libs/errors.ts";
import { memberConversation } from "../conversations/service.ts";
import { toMessage } from "../conversations/views.ts";
import { raiseLastSeq, raiseReadSeq, readSeqOf } from "./seq.ts";

const MAX_ATTEMPTS = 100;

/**
 * The highest seq this process has seen committed per conversation. Any committed seq is a
 * safe place to start from (every seq below it exists), and this one is fresher than the
 * conversation's lastSeq, which is raised only after the insert: fewer conflicts per send.
 * Bounded; losing it costs only a conflict or two.
 */
const seqHints = new Map<string, number>();
function noteCommitted(conversationId: string, seq: number) {
  if ((seqHints.get(conversationId) ?? 0) >= seq) return;
  if (seqHints.size >= 10_000) seqHints.clear();
  seqHints.set(conversationId, seq);
}

export async function send(
  deps: Pick<Deps, "db" | "publisher" | "limiter" | "config" | "metrics" | "log">,
  conversationId: string,
  senderId: string,
  input: SendMessageBody,
): Promise<{ message: Message; created: boolean }> {
  const { db } = deps;
  const conv = await memberConversation(deps, conversationId, senderId);
  const body = input.body.trim();
  if (body.length === 0) throw invalid("the message is empty", [{ path: "/body", message: "empty after trimming" }]);
  // the contract counts characters: code points, so an emoji is one, not two UTF-16 units
  if (body.length > MESSAGE_BODY_MAX && [...body].length > MESSAGE_BODY_MAX)
    throw new ApiError("payload_too_large", `a message is at most ${MESSAGE_BODY_MAX} characters`);

  const key = { conversationId: conv._id, senderId: oid(senderId), clientId: input.clientId };
  const _id = messageId(conversationId, senderId, input.clientId);
  const original = await db.Message.findById(_id).lean();
  if (original) return { message: toMessage(original), created: false };

  // replays above are free; only new messages count against the sender's rate
  const [win] = (await deps.limiter.hit([`send:${senderId}`], deps.config.sendRateWindowSeconds)) ?? [];
  if (win && win.count > deps.config.sendRateMax) throw rateLimited(win.retryAfterSeconds);

  // Start right above the conversation's lastSeq: it is only ever raised to seqs already
  // committed, so every seq up to it exists. A conflict on seq s proves s exists too, so each
  // retry moves to max(s + 1, fresh lastSeq + 1) and never leaves a gap.
  let seq = Math.max(conv.lastSeq, seqHints.get(conversationId) ?? 0) + 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let createdAt: Date;
    try {
      createdAt = (await db.Message.create({ _id, ...key, seq, body, createdAt: new Date() })).createdAt;
    } catch (err) {
      if (isTransientWriteError(err)) {
        await Bun.sleep(Math.random() * Math.min(2 + attempt, 15));
        continue;
      }
      if (!isDuplicateKey(err)) throw err;
      const existing = await db.Message.findById(_id).lean();
      if (existing) return { message: toMessage(existing), created: false };
      deps.metrics.seqConflicts.inc();
      const fresh = await db.Conversation.findById(conv._id).select({ lastSeq: 1 }).lean();
      noteCommitted(conversationId, seq);
      seq = Math.max(seq + 1, (fresh?.lastSeq ?? 0) + 1, (seqHints.get(conversationId) ?? 0) + 1);
      if (attempt > 2) await Bun.sleep(Math.random() * Math.min(attempt, 10));
      continue;
    }
    // committed: from here on nothing may turn this send into an error retried as a new one
    noteCommitted(conversationId, seq);
    const message = toMessage({ _id, ...key, seq, body, createdAt });
    await afterCommit(
      deps,
      conv.memberIds.map((m) => m.toHexString()),
      message,
      createdAt,
    );
    return { message, created: true };
  }
  throw new ApiError("unavailable", "the conversation is too busy right now, try again");
}

async function afterCommit(
  deps: Pick<Deps, "db" | "publisher" | "metrics" | "log">,
  memberIds: string[],
  message: Message,
  at: Date,
) {
  const committedAt = Date.now();
  deps.metrics.messagesSent.inc();
  // published first: members should not wait for the bookkeeping below
  await deps.publisher.toUsers(memberIds, { type: "message", message }, committedAt);
  // the sender has read their own message; both only ever move forward
  // (a failure here is logged, not answered: the message is committed and the next send or
  // read raises these again)
  await Promise.all([
    raiseLastSeq(deps.db, oid(message.conversationId), message.seq, oid(message.id), at),
    raiseReadSeq(deps.db, message.conversationId, message.senderId, message.seq),
  ]).catch((err: unknown) =>
    deps.log.warn(
      { err: (err as Error).message, conversationId: message.conversationId },
      "lastSeq/read bookkeeping failed",
    ),
  );
}

export async function history(
  deps: Pick<Deps, "db">,
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
  if (query.after !== undefined) {
    const rows = await deps.db.Message.find({ conversationId: conv._id, seq: { $gt: query.after } })
      .sort({ seq: 1 })
      .limit(limit + 1)
      .lean();
    return { messages: rows.slice(0, limit).map(toMessage), hasMore: rows.length > limit };
  }
  // newest page (or the page before `before`): read backwards, answer ascending
  const filter =
    query.before !== undefined
      ? { conversationId: conv._id, seq: { $lt: query.before } }
      : { conversationId: conv._id };
  const rows = await deps.db.Message.find(filter)
    .sort({ seq: -1 })
    .limit(limit + 1)
    .lean();
  return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
}

/**
 * Moves the caller's read position forward. A seq above the conversation's last seq is clamped
 * to it; a lower or equal one changes nothing. Members are told when it advanced.
 */
export async function markRead(
  deps: Pick<Deps, "db" | "publisher">,
  conversationId: string,
  userId: string,
  seq: number,
): Promise<void> {
  const conv = await memberConversation(deps, conversationId, userId);
  // lastSeq may lag a just-committed message for a moment (it is raised after the insert), so
  // only a position above it needs the (costlier) look at the newest message
  const top =
    seq > conv.lastSeq
      ? await deps.db.Message.findOne({ conversationId: conv._id }).sort({ seq: -1 }).select({ seq: 1 }).lean()
      : null;
  const target = Math.min(seq, Math.max(conv.lastSeq, top?.seq ?? 0));
  if (target <= (await readSeqOf(deps.db, conversationId, userId))) return;
  if (!(await raiseReadSeq(deps.db, conversationId, userId, target))) return;
  await deps.publisher.toUsers(
    conv.memberIds.map((m) => m.toHexString()),
    { type: "read", conversationId, userId, seq: target },
  );
}
