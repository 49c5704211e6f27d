/** Database documents → the contract's Conversation and Message shapes, each member seeing their own read state. */
import type { Conversation, Message, SystemEvent } from "@parley/contract";
import type { ChangeDoc, LastMessageDoc, MessageDoc, MessageState, SystemDoc } from "../../libs/collections.ts";
import type { ConversationDoc } from "../../libs/db.ts";
import type { Bookkeeper } from "../messages/bookkeeping.ts";

type Hex = { toHexString(): string };
const hex = (id: Hex) => id.toHexString();

export const toSystemEvent = (s: SystemDoc): SystemEvent => ({
  action: s.action,
  actorId: hex(s.actorId),
  actorName: s.actorName,
  userIds: s.userIds.map(hex),
  title: s.title ?? null,
  members: s.memberIds.map((m, i) => ({ id: hex(m), username: s.memberNames[i] ?? "" })),
  rev: s.rev,
});

/** A message document (with its newest version folded in, see withVersion) as the contract shows it. */
export const toMessage = (m: LastMessageDoc & { conversationId: Hex }): Message => ({
  id: hex(m._id),
  conversationId: hex(m.conversationId),
  seq: m.seq,
  senderId: hex(m.senderId),
  // a deleted message's body has left the database; an old copy must not bring it back either
  body: m.deleted ? "" : (m.body ?? ""),
  clientId: m.clientId,
  createdAt: m.createdAt.toISOString(),
  kind: m.kind ?? "text",
  system: m.system ? toSystemEvent(m.system) : null,
  replyTo: m.replyTo ?? null,
  mentions: (m.mentions ?? []).map(hex),
  editedAt: m.editedAt ? m.editedAt.toISOString() : null,
  deleted: m.deleted ?? false,
  reactions: (m.reactions ?? []).map((r) => ({ emoji: r.emoji, userIds: r.userIds.map(hex) })),
  version: m.version ?? 0,
});

/** The state of a message as sent (version 0). */
export const sentState = (m: MessageDoc): MessageState => ({
  body: m.body ?? "",
  editedAt: null,
  deleted: m.deleted ?? false,
  reactions: [],
  version: 0,
});

/** A message with its newest version (when it has changed since it was sent). */
export function withVersion(m: MessageDoc, v: ChangeDoc | undefined): MessageDoc & MessageState {
  if (!v || v.version === 0) return { ...m, ...sentState(m) };
  return {
    ...m,
    body: v.deleted ? "" : v.body,
    editedAt: v.editedAt,
    deleted: v.deleted || (m.deleted ?? false),
    reactions: v.reactions,
    version: v.version,
  };
}

/** The conversation's copy of a message (no conversation id, no block). */
export function lastMessageOf(m: MessageDoc & Partial<MessageState>): LastMessageDoc {
  const { conversationId: _c, block: _b, page: _p, ...last } = m;
  return last;
}

/**
 * The conversation document with what this process committed and has not yet recorded on it
 * (the bookkeeping runs after the answer to a send), so a list right after a send shows it.
 */
export function withUnwritten(c: ConversationDoc, bookkeeper: Bookkeeper): ConversationDoc {
  const marks = bookkeeper.unwrittenMarks(c._id.toHexString());
  if (!marks) return c;
  const stored = c.lastSent ?? {};
  const lastSent = { ...stored };
  for (const [u, s] of Object.entries(marks.sent)) lastSent[u] = Math.max(lastSent[u] ?? 0, s);
  let out: ConversationDoc = { ...c, lastSent, lastRev: Math.max(c.lastRev ?? 0, marks.rev ?? 0) };
  const last = marks.lastMessage;
  if (last && last.seq > c.lastSeq)
    out = { ...out, lastSeq: last.seq, lastMessage: last, lastActivityAt: last.createdAt };
  else if (last && last.seq === c.lastSeq && (last.version ?? 0) > (c.lastMessage?.version ?? 0))
    out = { ...out, lastMessage: last };
  const state = marks.state;
  if (state && state.rev > (c.stateRev ?? 0))
    out = {
      ...out,
      title: state.title,
      memberIds: state.memberIds,
      memberNames: state.memberNames,
      stateRev: state.rev,
    };
  return out;
}

/** A member's read position: what they marked, or what they sent, whichever is higher. */
export const readSeqOf = (c: ConversationDoc, userId: string, marked: number) =>
  Math.max(marked, c.lastSent?.[userId] ?? 0);

/** What only the viewer has of a conversation: their read position, unread mentions, mute. */
export type Viewer = { readSeq: number; mentionSeqs: number[]; muted: boolean };

/**
 * A conversation as one member sees it. Everything shared comes from the conversation document
 * itself (member names and the last message are kept on it), so a list needs no other lookup
 * per conversation.
 */
export function viewOf(c: ConversationDoc, viewer: Viewer): Conversation {
  const seq = Math.min(viewer.readSeq, c.lastSeq);
  return {
    id: c._id.toHexString(),
    kind: c.kind,
    title: c.title ?? null,
    members: c.memberIds.map((m, i) => ({ id: m.toHexString(), username: c.memberNames[i] ?? "" })),
    lastMessage: c.lastMessage ? toMessage({ ...c.lastMessage, conversationId: c._id }) : null,
    lastSeq: c.lastSeq,
    readSeq: seq,
    unread: Math.max(0, c.lastSeq - seq),
    mentions: viewer.mentionSeqs.filter((s) => s > seq && s <= c.lastSeq).length,
    muted: viewer.muted,
    stateRev: c.stateRev ?? 0,
    createdAt: c.createdAt.toISOString(),
  };
}
