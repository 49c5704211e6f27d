/**
 * A client says its user is typing in a conversation: relayed to the other members' channels,
 * members only, and at most one per user and conversation every TYPING_RELAY_MS across all of
 * the user's sockets here (a well-behaved client sends one per TYPING_INTERVAL_MS). The excess
 * is not relayed; the socket gets an error frame `rate_limited`, which clients may ignore.
 */
import type Redis from "ioredis";
import { encodeFanoutEvent, userChannel } from "@parley/contract/frames";
import { TYPING_INTERVAL_MS } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import type { LocalUsers } from "../fanout/local-users.ts";

export const TYPING_RELAY_MS = TYPING_INTERVAL_MS / 2;

export type TypingResult = "ok" | "not_member" | "rate_limited";

export class TypingRelay {
  /** user id → conversation id → when a typing frame of theirs was last relayed */
  private readonly last = new Map<string, Map<string, number>>();

  constructor(private readonly deps: { users: LocalUsers; commands: Redis; log: Logger }) {}

  async relay(userId: string, conversationId: string): Promise<TypingResult> {
    const members = await this.deps.users.membersOf(userId, conversationId);
    if (!members) return "not_member";
    const now = Date.now();
    const mine = this.last.get(userId) ?? new Map<string, number>();
    if (now - (mine.get(conversationId) ?? 0) < TYPING_RELAY_MS) return "rate_limited";
    mine.set(conversationId, now);
    // only while the user is here: forget() has already run for one who left meanwhile
    if (this.deps.users.has(userId)) this.last.set(userId, mine);
    const payload = encodeFanoutEvent({ type: "typing", conversationId, userId }, now);
    const pipe = this.deps.commands.pipeline();
    for (const m of members) if (m !== userId) pipe.publish(userChannel(m), payload);
    await pipe.exec().catch((err: Error) => this.deps.log.warn({ err: err.message }, "typing publish failed"));
    return "ok";
  }

  /** The user's last socket here closed. */
  forget(userId: string): void {
    this.last.delete(userId);
  }
}
