/**
 * Which conversations a user is in, and with whom, asked from the api with the user's own
 * token (the api is the only source of truth; realtime keeps no database).
 */
import type { Conversation, ConversationsResponse } from "@parley/contract";

/** How long a user whose conversations could not be loaded waits before the next attempt. */
export const MEMBERSHIP_RETRY_MS = 5000;

/** conversation id → member ids */
export type Membership = Map<string, string[]>;

export const membersOf = (c: Pick<Conversation, "members">) => c.members.map((m) => m.id);

/** The user's conversations and the version of each one's member list. */
export async function fetchMembership(
  apiUrl: string,
  token: string,
): Promise<{ membership: Membership; revs: Map<string, number> }> {
  const res = await fetch(`${apiUrl}/api/conversations`, {
    headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`GET /api/conversations answered ${res.status}`);
  const body = (await res.json()) as ConversationsResponse;
  return {
    membership: new Map(body.conversations.map((c) => [c.id, membersOf(c)])),
    revs: new Map(body.conversations.map((c) => [c.id, c.stateRev])),
  };
}
