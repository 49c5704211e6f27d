/**
 * A client says its user is typing in a conversation: relayed to the other members (routed as
 * the api routes its events, kit/route), members only. Limits, across all of the user's sockets
 * here, checked before anything is asked or published: at most one per user and conversation
 * every TYPING_RELAY_MS (a well-behaved client sends one per TYPING_INTERVAL_MS), and at most
 * TYPING_PER_USER per TYPING_INTERVAL_MS over all conversations (one user typing into 200 groups
 * at once reached one member 400 times).
 * The excess is not relayed; the socket gets an error frame `rate_limited`, which clients may
 * ignore. Each socket's frames are limited before they get here (Session.admit).
 */
import { encodeFanoutEvent } from "@parley/contract/frames";
import { TYPING_INTERVAL_MS } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import type { RedisClient } from "@parley/kit/redis";
import { EventRouter } from "@parley/kit/route";
import type { LocalUsers } from "../fanout/local-users.ts";

export const TYPING_RELAY_MS = TYPING_INTERVAL_MS / 2;
/** Conversations one user may be typing in per TYPING_INTERVAL_MS. */
export const TYPING_PER_USER = 4;

export type TypingResult = "ok" | "not_member" | "rate_limited" | "unavailable";

type UserTyping = { perConversation: Map<string, number>; recent: number[] };

export class TypingRelay {
  private readonly typing = new Map<string, UserTyping>();
  private readonly router: EventRouter;

  constructor(private readonly deps: { users: LocalUsers; commands: RedisClient; log: Logger }) {
    this.router = new EventRouter(deps.commands);
  }

  async relay(userId: string, conversationId: string): Promise<TypingResult> {
    const now = Date.now();
    const mine = this.typing.get(userId) ?? { perConversation: new Map<string, number>(), recent: [] };
    if (now - (mine.perConversation.get(conversationId) ?? 0) < TYPING_RELAY_MS) return "rate_limited";
    mine.recent = mine.recent.filter((t) => now - t < TYPING_INTERVAL_MS);
    if (mine.recent.length >= TYPING_PER_USER) return "rate_limited";
    mine.recent.push(now);
    for (const [c, t] of mine.perConversation) if (now - t >= TYPING_RELAY_MS) mine.perConversation.delete(c);
    mine.perConversation.set(conversationId, now);
    // only while the user is here: forget() has already run for one who left meanwhile
    if (this.deps.users.has(userId)) this.typing.set(userId, mine);

    const members = await this.deps.users.membersOf(userId, conversationId);
    if (members === "unavailable") return "unavailable";
    if (!Array.isArray(members)) return "not_member";
    const payload = encodeFanoutEvent({ type: "typing", conversationId, userId }, now);
    await this.router
      .publishOrThrow([{ userIds: members.filter((m) => m !== userId), payload }])
      .catch((err: Error) => this.deps.log.warn({ err: err.message }, "typing publish failed"));
    return "ok";
  }

  /** The user's last socket here closed. */
  forget(userId: string): void {
    this.typing.delete(userId);
  }
}
