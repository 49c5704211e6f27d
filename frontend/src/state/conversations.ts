/** Pure logic of the conversation list: ordering, live updates from messages and reads. */
import type { Conversation, Id, Message } from "@parley/contract";

/** When the conversation last saw activity: its last message, else its creation. */
export const activityAt = (c: Conversation): string => c.lastMessage?.createdAt ?? c.createdAt;

/** Newest activity first; ties broken by id so the order is stable. */
export function sortConversations(list: readonly Conversation[]): Conversation[] {
  return [...list].sort((a, b) =>
    activityAt(b) > activityAt(a) ? 1 : activityAt(b) < activityAt(a) ? -1 : a.id < b.id ? 1 : -1,
  );
}

/** Inserts or replaces one conversation, keeping the list ordered. */
export function upsertConversation(list: readonly Conversation[], conversation: Conversation): Conversation[] {
  const rest = list.filter((c) => c.id !== conversation.id);
  return sortConversations([...rest, conversation]);
}

/**
 * A message arrived: it becomes the preview when it is the newest, and counts as unread when
 * someone else wrote it and the user is not looking at it right now.
 */
export function applyMessage(c: Conversation, m: Message, me: Id, seen: boolean): Conversation {
  if (m.seq <= c.lastSeq && c.lastMessage && c.lastMessage.seq >= m.seq) return c;
  const newest = m.seq >= c.lastSeq;
  const unread = m.senderId !== me && !seen && m.seq > c.readSeq ? c.unread + 1 : c.unread;
  return {
    ...c,
    lastMessage: newest ? m : c.lastMessage,
    lastSeq: Math.max(c.lastSeq, m.seq),
    unread,
  };
}

/** The user's read position moved to `seq` (never back). */
export function applyRead(c: Conversation, seq: number): Conversation {
  if (seq <= c.readSeq) return c;
  return { ...c, readSeq: seq, unread: seq >= c.lastSeq ? 0 : Math.min(c.unread, c.lastSeq - seq) };
}

/** The name to show: the title, else the other members' names. */
export function conversationName(c: Conversation, me: Id | undefined): string {
  if (c.title) return c.title;
  const others = c.members.filter((m) => m.id !== me).map((m) => m.username);
  return others.length ? others.join(", ") : "Just you";
}

/** The other member of a direct chat. */
export function directPeer(c: Conversation, me: Id | undefined) {
  return c.kind === "direct" ? c.members.find((m) => m.id !== me) : undefined;
}

/**
 * Merges the server's copy of a conversation (from a list request) into the local one. A live
 * message that arrived while the request was in flight is newer than the server's copy, so the
 * local lastSeq/lastMessage win when ahead; the read position never moves back, and unread is
 * recomputed from the two.
 */
export function mergeServerConversation(local: Conversation | undefined, server: Conversation): Conversation {
  if (!local) return server;
  const localAhead = local.lastSeq > server.lastSeq;
  const lastSeq = localAhead ? local.lastSeq : server.lastSeq;
  const readSeq = Math.max(local.readSeq, server.readSeq);
  const counted = localAhead ? Math.max(server.unread, local.unread) : server.unread;
  return {
    ...server,
    lastSeq,
    lastMessage: localAhead ? local.lastMessage : server.lastMessage,
    readSeq,
    unread: readSeq >= lastSeq ? 0 : Math.min(counted, lastSeq - readSeq),
  };
}
