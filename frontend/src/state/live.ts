/**
 * The ephemeral signals the socket brings: who is online, who is typing where, and how far
 * the other members have read. Lost on reload by design; the server sends presence again
 * after every `ready`.
 */
import type { Conversation, Id } from "@parley/contract";
import type { PresenceFrame, ReadFrame, TypingFrame } from "@parley/contract/frames";
import { TYPING_INTERVAL_MS } from "@parley/contract/limits";

/** A typing indicator lasts two client intervals, so one lost frame does not make it flicker. */
export const TYPING_SHOWN_MS = TYPING_INTERVAL_MS * 2;

export class LiveSignals {
  readonly presence = new Map<Id, boolean>();
  /** conversation → user → when their typing indicator expires (ms) */
  readonly typing = new Map<Id, Map<Id, number>>();
  /** conversation → member → the seq they have read (learned live) */
  readonly readBy = new Map<Id, Map<Id, number>>();

  constructor(private readonly changed: () => void) {}

  clear(): void {
    this.presence.clear();
    this.typing.clear();
    this.readBy.clear();
  }

  onPresence(f: PresenceFrame): void {
    this.presence.set(f.userId, f.online);
    this.changed();
  }

  onTyping(f: TypingFrame): void {
    const m = this.typing.get(f.conversationId) ?? new Map<Id, number>();
    m.set(f.userId, Date.now() + TYPING_SHOWN_MS);
    this.typing.set(f.conversationId, m);
    this.changed();
    setTimeout(this.changed, TYPING_SHOWN_MS + 50);
  }

  /** Someone's message arrived: they are no longer typing it. */
  stoppedTyping(conversationId: Id, userId: Id): void {
    this.typing.get(conversationId)?.delete(userId);
  }

  onOthersRead(f: ReadFrame): void {
    const m = this.readBy.get(f.conversationId) ?? new Map<Id, number>();
    m.set(f.userId, Math.max(m.get(f.userId) ?? 0, f.seq));
    this.readBy.set(f.conversationId, m);
    this.changed();
  }

  typers(c: Conversation | undefined): string[] {
    if (!c) return [];
    const now = Date.now();
    return [...(this.typing.get(c.id) ?? new Map<Id, number>())]
      .filter(([, until]) => until > now)
      .map(([uid]) => c.members.find((m) => m.id === uid)?.username ?? "Someone");
  }
}
