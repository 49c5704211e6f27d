/**
 * Who is in a conversation, as realtime needs to know it: only to relay a typing frame (members
 * only, to the members). The api is the only source of truth and realtime keeps no database, so
 * it asks the api about one conversation at a time (`GET /api/conversations/:id` on the user's
 * behalf, api-tokens.ts: the answer is 404 unless they are a member) and keeps the answer per
 * conversation, shared by every local user, for MEMBERSHIP_TTL_MS. A `conversation` frame
 * updates it at once. Nothing here is derived from a (possibly truncated) list of a user's
 * conversations.
 *
 * Bounded: a "not a member" answer is kept too, and each user may make at most LOOKUPS_BURST
 * lookups at once, refilled at LOOKUPS_PER_MINUTE, so typing frames for made-up conversations
 * cannot turn into a stream of api calls.
 */
import type {
  Conversation,
  ConversationMembers,
  ConversationMembersResponse,
  ConversationResponse,
  ConversationsResponse,
} from "@parley/contract";
import { BACKGROUND_READ_HEADER, CONVERSATIONS_PAGE_MAX } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";

export const MEMBERSHIP_TTL_MS = 30_000;
/** How long a user whose contacts could not be loaded waits before the next attempt. */
export const MEMBERSHIP_RETRY_MS = 5000;
/** How long a user's contacts may take to come (asked as a read that can wait). */
const CONTACTS_TIMEOUT_MS = 30_000;
const LOOKUPS_BURST = 10;
const LOOKUPS_PER_MINUTE = 30;
const MAX_ENTRIES = 50_000;

export const membersOf = (c: Pick<Conversation, "members">) => c.members.map((m) => m.id);

/** What a lookup found: the members, or why not. */
export type Lookup = string[] | "not_member" | "unauthorized" | "unavailable";

type Budget = { tokens: number; at: number };

export class Memberships {
  /** conversation id → its member ids, until `expires`, and the version of the list (`stateRev`) */
  private readonly known = new Map<string, { members: string[]; expires: number; rev: number }>();
  /** `${userId}:${conversationId}` → until when the user is known not to be a member */
  private readonly outside = new Map<string, number>();
  private readonly budgets = new Map<string, Budget>();
  private readonly asking = new Map<string, Promise<Lookup>>();

  constructor(private readonly deps: { apiUrl: string; log: Logger }) {}

  /**
   * Members as a frame or an answer of the api told them, with the version of the list: a
   * stale one (a frame overtaken by a newer group change) does not undo a newer one.
   */
  learn(conversationId: string, members: string[], rev: number): void {
    const now = Date.now();
    const had = this.known.get(conversationId);
    if (had && had.expires > now && had.rev > rev) return;
    if (this.known.size >= MAX_ENTRIES) this.sweep();
    this.known.set(conversationId, { members, expires: now + MEMBERSHIP_TTL_MS, rev });
    for (const m of members) this.outside.delete(`${m}:${conversationId}`);
  }

  /** Whether `userId` is a member, as known right now without asking; undefined when not known. */
  knows(conversationId: string, userId: string): boolean | undefined {
    const hit = this.known.get(conversationId);
    return hit && hit.expires > Date.now() ? hit.members.includes(userId) : undefined;
  }

  /** Membership changed in a way no frame carried: ask again next time. */
  forget(conversationId: string): void {
    this.known.delete(conversationId);
  }

  /** The members of a conversation if `userId` is one of them (asking the api when not known). */
  async lookup(userId: string, conversationId: string, token: () => Promise<string>): Promise<Lookup> {
    const now = Date.now();
    const hit = this.known.get(conversationId);
    // the frames of a group change reach this replica through its local members: a fresh
    // answer without the user is an answer
    if (hit && hit.expires > now) return hit.members.includes(userId) ? hit.members : "not_member";
    if ((this.outside.get(`${userId}:${conversationId}`) ?? 0) > now) return "not_member";
    const key = `${userId}:${conversationId}`;
    const running = this.asking.get(key);
    if (running) return running;
    if (!this.spend(userId, now)) return "not_member";
    const ask = this.ask(userId, token, conversationId).finally(() => this.asking.delete(key));
    this.asking.set(key, ask);
    return ask;
  }

  /** The user has no socket here any more: their lookup budget goes. */
  release(userId: string): void {
    this.budgets.delete(userId);
  }

  private spend(userId: string, now: number): boolean {
    const b = this.budgets.get(userId) ?? { tokens: LOOKUPS_BURST, at: now };
    b.tokens = Math.min(LOOKUPS_BURST, b.tokens + ((now - b.at) * LOOKUPS_PER_MINUTE) / 60_000);
    b.at = now;
    this.budgets.set(userId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async ask(userId: string, token: () => Promise<string>, conversationId: string): Promise<Lookup> {
    let res: Response;
    try {
      res = await fetch(`${this.deps.apiUrl}/api/conversations/${conversationId}`, {
        headers: { authorization: `Bearer ${await token()}`, accept: "application/json" },
        signal: AbortSignal.timeout(5000),
      });
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, "membership lookup failed");
      return "unavailable";
    }
    if (res.status === 401) return "unauthorized";
    if (res.status === 404 || res.status === 422) {
      if (this.outside.size >= MAX_ENTRIES) this.sweep();
      this.outside.set(`${userId}:${conversationId}`, Date.now() + MEMBERSHIP_TTL_MS);
      return "not_member";
    }
    if (!res.ok) return "unavailable";
    const { conversation } = (await res.json()) as ConversationResponse;
    const members = membersOf(conversation);
    this.learn(conversationId, members, conversation.stateRev);
    return members.includes(userId) ? members : "not_member";
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, e] of this.known) if (e.expires <= now) this.known.delete(id);
    for (const [k, until] of this.outside) if (until <= now) this.outside.delete(k);
    // still full of live entries: start over (they are asked again when needed)
    if (this.known.size >= MAX_ENTRIES) this.known.clear();
    if (this.outside.size >= MAX_ENTRIES) this.outside.clear();
  }
}

/**
 * The people a user meets in their most recent conversations (one page of the list, at most
 * CONVERSATIONS_PAGE_MAX): whose presence to follow for them. A bounded set by design, and not
 * membership: presence of people met only in older conversations comes from the api when the
 * client asks for them. Their members are learnt on the way. Asked of
 * `GET /api/conversations/members`, the list's first page without its unread counts, last
 * messages and settings (a third of the database lookups).
 */
export async function recentContacts(
  apiUrl: string,
  userId: string,
  token: string,
  memberships: Memberships,
): Promise<Set<string> | "unauthorized"> {
  // presence can wait: when a replica's users arrive all at once, the api serves their catch-ups
  // first (and `ready` never waits for this), so the answer may take a while
  const ask = (path: string) =>
    fetch(`${apiUrl}${path}?limit=${CONVERSATIONS_PAGE_MAX}`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json", [BACKGROUND_READ_HEADER]: "1" },
      signal: AbortSignal.timeout(CONTACTS_TIMEOUT_MS),
    });
  let res = await ask("/api/conversations/members");
  // an api from before /members (a rolling deploy: this replica updated first) reads it as
  // /api/conversations/:id with a bad id: the list's first page says the same, at a higher cost
  const older = res.status === 404 || res.status === 422;
  if (older) res = await ask("/api/conversations");
  if (res.status === 401) return "unauthorized";
  if (!res.ok) throw new Error(`GET /api/conversations${older ? "" : "/members"} answered ${res.status}`);
  const entries: ConversationMembers[] = older
    ? ((await res.json()) as ConversationsResponse).conversations.map((c) => ({
        id: c.id,
        memberIds: membersOf(c),
        stateRev: c.stateRev,
      }))
    : ((await res.json()) as ConversationMembersResponse).conversations;
  const contacts = new Set<string>();
  for (const c of entries) {
    memberships.learn(c.id, c.memberIds, c.stateRev);
    for (const m of c.memberIds) if (m !== userId) contacts.add(m);
  }
  return contacts;
}
