/**
 * Values derived from the store's state, written once: components and the store's parts call
 * these instead of repeating the rule (a direct chat's peer, whether they are online, what the
 * list shows as a preview). Pure reads, no side effects.
 */
import type { Conversation, Id } from "@parley/contract";
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
  const mine = last.senderId === st.me?.id;
  const who = mine ? "You: " : c.kind === "group" ? `${senderName(st, last)}: ` : "";
  return who + last.body;
}

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
