/** Pure logic of the conversation list: ordering, live updates from messages, changes, group changes and reads. */
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
 * A message arrived: it becomes the preview when it is the newest, and counts as unread (and as
 * a mention when it names the user) when someone else wrote it and the user is not looking at
 * it right now. A system line also brings the group's new name and members.
 */
export function applyMessage(c: Conversation, m: Message, me: Id, seen: boolean): Conversation {
  const withGroup = m.system ? applySystem(c, m) : c;
  if (m.seq <= c.lastSeq && c.lastMessage && c.lastMessage.seq >= m.seq) return withGroup;
  const newest = m.seq >= c.lastSeq;
  const counts = m.senderId !== me && !seen && m.seq > c.readSeq;
  return {
    ...withGroup,
    lastMessage: newest ? m : c.lastMessage,
    lastSeq: Math.max(c.lastSeq, m.seq),
    unread: counts ? c.unread + 1 : c.unread,
    mentions: counts && m.mentions.includes(me) ? c.mentions + 1 : c.mentions,
  };
}

/** A system line's version of the group's name and members, unless a newer one is known. */
export function applySystem(c: Conversation, m: Message): Conversation {
  const s = m.system;
  if (!s || s.rev <= c.stateRev) return c;
  return { ...c, title: s.title, members: s.members, stateRev: s.rev };
}

/** A newer version of the last message (edited, deleted, reacted to): the preview follows. */
export function applyChanged(c: Conversation, m: Message): Conversation {
  const last = c.lastMessage;
  if (!last || last.id !== m.id || last.version >= m.version) return c;
  return { ...c, lastMessage: m };
}

/**
 * The user's read position moved to `seq` (never back). Mentions are counted exactly by the
 * server; here they can only be bounded by what is still unread.
 */
export function applyRead(c: Conversation, seq: number): Conversation {
  if (seq <= c.readSeq) return c;
  const unread = seq >= c.lastSeq ? 0 : Math.min(c.unread, c.lastSeq - seq);
  return { ...c, readSeq: seq, unread, mentions: Math.min(c.mentions, unread) };
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
 * local lastSeq/lastMessage win when ahead (or a newer version of the same last message); the
 * read position never moves back, unread is recomputed from the two, and a name and member
 * list of a newer version (a system line heard live) are kept.
 */
export function mergeServerConversation(local: Conversation | undefined, server: Conversation): Conversation {
  if (!local) return server;
  const localAhead = local.lastSeq > server.lastSeq;
  const lastSeq = localAhead ? local.lastSeq : server.lastSeq;
  const readSeq = Math.max(local.readSeq, server.readSeq);
  const counted = localAhead ? Math.max(server.unread, local.unread) : server.unread;
  const unread = readSeq >= lastSeq ? 0 : Math.min(counted, lastSeq - readSeq);
  const merged: Conversation = {
    ...server,
    lastSeq,
    lastMessage: localAhead ? local.lastMessage : server.lastMessage,
    readSeq,
    unread,
    mentions: Math.min(localAhead ? Math.max(server.mentions, local.mentions) : server.mentions, unread),
  };
  const group =
    local.stateRev > server.stateRev
      ? { ...merged, title: local.title, members: local.members, stateRev: local.stateRev }
      : merged;
  return local.lastMessage ? applyChanged(group, local.lastMessage) : group;
}

/** The unread messages of every conversation, for the page title (muted ones still count). */
export const unreadTotal = (list: readonly Conversation[]) => list.reduce((n, c) => n + c.unread, 0);
