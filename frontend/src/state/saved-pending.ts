/**
 * Unconfirmed messages are kept in localStorage per user, so closing the tab while offline
 * does not lose them: the next page load sends them again with the same clientId, and the
 * api's clientId dedupe makes two tabs sending the same one harmless.
 */
import type { Id } from "@parley/contract";
import type { LocalMessage } from "./thread.ts";

const key = (userId: Id) => `parley:pending:${userId}`;

export function loadPending(userId: Id): LocalMessage[] {
  try {
    const raw = JSON.parse(localStorage.getItem(key(userId)) ?? "[]") as unknown;
    return Array.isArray(raw)
      ? raw.filter(
          (p): p is LocalMessage =>
            !!p && typeof p.clientId === "string" && typeof p.conversationId === "string" && typeof p.body === "string",
        )
      : [];
  } catch {
    return [];
  }
}

export function savePending(userId: Id, pending: LocalMessage[]): void {
  try {
    if (pending.length) localStorage.setItem(key(userId), JSON.stringify(pending));
    else localStorage.removeItem(key(userId));
  } catch {
    // storage full or disabled: pending messages then live as long as the tab
  }
}

/** Forgets the user's unsent messages (an explicit sign-out: the next person here must not find them). */
export function clearPending(userId: Id): void {
  try {
    localStorage.removeItem(key(userId));
  } catch {
    // storage disabled: nothing was kept
  }
}
