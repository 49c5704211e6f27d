/** Database documents → the contract's Conversation and Message shapes, each member seeing their own read state. */
import type { Conversation, Message } from "@parley/contract";
import type { LastMessageDoc } from "../../libs/collections.ts";
import type { ConversationDoc } from "../../libs/db.ts";
import type { Bookkeeper } from "../messages/bookkeeping.ts";

export const toMessage = (m: LastMessageDoc & { conversationId: { toHexString(): string } }): Message => ({
  id: m._id.toHexString(),
  conversationId: m.conversationId.toHexString(),
  seq: m.seq,
  senderId: m.senderId.toHexString(),
  body: m.body,
  clientId: m.clientId,
  createdAt: m.createdAt.toISOString(),
});

/**
 * The conversation document with what this process committed and has not yet recorded on it
 * (the bookkeeping runs after the answer to a send), so a list right after a send shows it.
 */
export function withUnwritten(c: ConversationDoc, bookkeeper: Bookkeeper): ConversationDoc {
  const marks = bookkeeper.unwrittenMarks(c._id.toHexString());
  if (!marks) return c;
  const stored = (c.lastSent ?? {}) as Record<string, number>;
  const lastSent = { ...stored };
  for (const [u, s] of Object.entries(marks.sent)) lastSent[u] = Math.max(lastSent[u] ?? 0, s);
  const last = marks.lastMessage;
  if (last.seq <= c.lastSeq) return { ...c, lastSent };
  return { ...c, lastSeq: last.seq, lastMessage: last, lastActivityAt: last.createdAt, lastSent };
}

/** A member's read position: what they marked, or what they sent, whichever is higher. */
export const readSeqOf = (c: ConversationDoc, userId: string, marked: number) =>
  Math.max(marked, ((c.lastSent ?? {}) as Record<string, number>)[userId] ?? 0);

/**
 * A conversation as `readSeq` sees it. Everything comes from the conversation document itself
 * (member names and the last message are kept on it), so a list needs no other lookup.
 */
export function viewOf(c: ConversationDoc, readSeq: number): Conversation {
  const seq = Math.min(readSeq, c.lastSeq);
  return {
    id: c._id.toHexString(),
    kind: c.kind as Conversation["kind"],
    title: c.title ?? null,
    members: c.memberIds.map((m, i) => ({ id: m.toHexString(), username: c.memberNames[i] ?? "" })),
    lastMessage: c.lastMessage ? toMessage({ ...c.lastMessage, conversationId: c._id }) : null,
    lastSeq: c.lastSeq,
    readSeq: seq,
    unread: Math.max(0, c.lastSeq - seq),
    createdAt: c.createdAt.toISOString(),
  };
}
