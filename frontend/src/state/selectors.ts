/**
 * Values derived from the store's state, written once: components and the store's parts call
 * these instead of repeating the rule (a direct chat's peer, whether they are online, what the
 * list shows as a preview). Pure reads, no side effects.
 */
import type { Conversation, Id, Message, SystemEvent } from "@parley/contract";
import { conversationName, directPeer } from "./conversations.ts";
import type { StoreState } from "./store-state.ts";
import type { Thread } from "./thread.ts";

type View = Pick<StoreState, "me" | "live" | "conversation">;

/** The other member of a direct chat; undefined in a group. */
export const peerOf = (st: Pick<View, "me">, c: Conversation) => directPeer(c, st.me?.id);

export const isOnline = (st: Pick<View, "live">, userId: Id): boolean => st.live.presence.get(userId) ?? false;

/** Whether a direct chat's peer is online; undefined for a group, which shows no presence. */
export function peerOnline(st: View, c: Conversation): boolean | undefined {
  const peer = peerOf(st, c);
  return peer ? isOnline(st, peer.id) : undefined;
}

/** The name to show for a conversation: its title, else the other members' names. */
export const nameOf = (st: Pick<View, "me">, c: Conversation): string => conversationName(c, st.me?.id);

/** A member's username in a conversation, "Someone" when they are not (or no longer) listed. */
export function senderName(st: Pick<View, "conversation">, m: { senderId: Id; conversationId: Id }): string {
  return st.conversation(m.conversationId)?.members.find((u) => u.id === m.senderId)?.username ?? "Someone";
}

/** The list's one-line preview of the last message: "You: …" for one's own, "name: …" in a group. */
export function previewOf(st: View, c: Conversation): string {
  const last = c.lastMessage;
  if (!last) return "";
  if (last.system) return systemText(st.me?.id, last.system);
  const mine = last.senderId === st.me?.id;
  const who = mine ? "You: " : c.kind === "group" ? `${senderName(st, last)}: ` : "";
  return who + (last.deleted ? "Message deleted" : last.body);
}

const listed = (names: string[]) =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;

/** A system line in words, "You" for the user: "You added bob", "alice renamed the group to “Lunch”". */
export function systemText(me: Id | undefined, s: SystemEvent): string {
  const name = (id: Id, you: string) => (id === me ? you : (s.members.find((m) => m.id === id)?.username ?? "Someone"));
  const actor = s.actorId === me ? "You" : s.actorName;
  switch (s.action) {
    case "renamed":
      return s.title ? `${actor} renamed the group to “${s.title}”` : `${actor} removed the group’s name`;
    case "added":
      return `${actor} added ${listed(s.userIds.map((u) => name(u, "you")))}`;
    case "left":
      return `${actor} left`;
  }
}

/** What a reply shows of the message it answers: who wrote it and its text (or that it was deleted). */
export type Quote = { seq: number; sender: string; text: string; deleted: boolean; loaded: boolean };

export function quoteOf(
  st: Pick<View, "me" | "conversation"> & { quotes: ReadonlyMap<string, Message> },
  t: Thread,
  conversationId: Id,
  seq: number,
): Quote {
  const m = t.messages.find((x) => x.seq === seq) ?? st.quotes.get(`${conversationId}:${seq}`);
  if (!m) return { seq, sender: "", text: "an earlier message", deleted: false, loaded: false };
  const sender = m.senderId === st.me?.id ? "You" : senderName(st, { senderId: m.senderId, conversationId });
  const text = m.system ? systemText(st.me?.id, m.system) : m.body;
  return { seq, sender, text, deleted: m.deleted, loaded: true };
}

/** Whether a message names the user with @. */
export const mentionsMe = (st: Pick<View, "me">, m: Pick<Message, "mentions">) =>
  !!st.me && m.mentions.includes(st.me.id);

/** How far a direct chat's peer has read (learned live), 0 when unknown or in a group. */
export function peerReadSeq(st: View, c: Conversation): number {
  const peer = peerOf(st, c);
  return peer ? (st.live.readBy.get(c.id)?.get(peer.id) ?? 0) : 0;
}

/** The seq of the user's newest confirmed message in a thread, 0 when none. */
export function lastOwnSeq(st: Pick<View, "me">, t: Thread): number {
  const me = st.me?.id;
  return t.messages.findLast((m) => m.senderId === me)?.seq ?? 0;
}
