/** Who am I, and finding people to talk to (prefix search with presence). */
import type { User, UserSummary } from "@parley/contract";
import { readOnline } from "@parley/contract/frames";
import { slotPipelines } from "@parley/kit/pipeline";
import type { Deps } from "../../libs/deps.ts";
import { oid } from "../../libs/db.ts";
import { unauthorized } from "../../libs/errors.ts";
import { toUser } from "../auth/service.ts";

/** The characters of a lowercased username (USERNAME_PATTERN). */
const USERNAME_CHARS = /^[a-z0-9_.-]*$/;

export async function me({ db }: Pick<Deps, "db">, userId: string): Promise<User> {
  const user = await db.User.findById(oid(userId)).lean();
  // a valid token of a user that no longer exists is as good as no token
  if (!user) throw unauthorized();
  return toUser(user);
}

/**
 * Case-insensitive prefix search: an equality on `usernamePrefixes.prefix` (collections.ts), so
 * no regular expression is built from user input and only the names that start with the prefix
 * are read, as small documents. Without a prefix: the people the caller shares a conversation
 * with, so the list is useful and never a walk over every account. Presence (`online`) is told
 * only about people the caller shares a conversation with: anyone can find a name, but whether
 * they are online is for their contacts alone.
 *
 * Ranked: the exact name first, then the caller's contacts, then anyone else, by name within
 * each. The prefix entries are read without a sort and stop at the limit: the embedded FerretDB
 * sorts in its own process after decoding every match (a 2-letter prefix matches hundreds of
 * names), so beyond the limit which strangers are shown is the database's order (MongoDB's:
 * by name, from the index); typing more letters narrows it.
 */
export async function search(
  deps: Pick<Deps, "db" | "redis" | "conversations">,
  userId: string,
  q: string | undefined,
  limit: number,
): Promise<UserSummary[]> {
  const { db, redis } = deps;
  const prefix = (q ?? "").trim().toLowerCase();
  let found: { id: string; username: string }[];
  let known: Map<string, string>;
  if (!prefix) {
    known = await contacts(deps, userId);
    found = byName([...known].map(([id, username]) => ({ id, username }))).slice(0, limit);
  } else if (!USERNAME_CHARS.test(prefix)) {
    // no username has characters outside USERNAME_PATTERN's: such a prefix finds nobody (and is
    // never sent to the database, which refuses some of them, NUL among them)
    return [];
  } else {
    const [contactsOf, exact, entries] = await Promise.all([
      contacts(deps, userId),
      db.User.findOne({ usernameLower: prefix }).select({ username: 1 }).lean(),
      db.UsernamePrefix.find({ prefix })
        .limit(limit + 1)
        .select({ username: 1, userId: 1 })
        .lean(),
    ]);
    known = contactsOf;
    const starts = (name: string) => name.toLowerCase().startsWith(prefix);
    const ranked = [
      ...(exact ? [{ id: exact._id.toHexString(), username: exact.username }] : []),
      ...byName([...known].filter(([, name]) => starts(name)).map(([id, username]) => ({ id, username }))),
      ...byName(entries.map((p) => ({ id: p.userId.toHexString(), username: p.username }))),
    ];
    // each person once, at their best rank, and never the caller
    const seen = new Set([userId]);
    found = ranked
      .filter((u) => {
        if (seen.has(u.id)) return false;
        seen.add(u.id);
        return true;
      })
      .slice(0, limit);
  }
  const online = await onlineOf(
    redis,
    found.filter((u) => known.has(u.id)).map((u) => u.id),
  );
  return found.map((u) => (known.has(u.id) ? { ...u, online: online.get(u.id) ?? false } : u));
}

const byName = <T extends { username: string }>(users: T[]) =>
  users.sort((a, b) => (a.username.toLowerCase() < b.username.toLowerCase() ? -1 : 1));

/** Everyone the user shares a conversation with: id → name (their conversations as the list finds them). */
async function contacts(
  { db, conversations }: Pick<Deps, "db" | "conversations">,
  userId: string,
): Promise<Map<string, string>> {
  const reads = await db.Read.find({ userId: oid(userId) })
    .select({ conversationId: 1 })
    .lean();
  const convs = await conversations.getMany(reads.map((r) => r.conversationId.toHexString()));
  const byId = new Map<string, string>();
  for (const c of convs) {
    if (!c.memberIds.some((m) => m.toHexString() === userId)) continue;
    c.memberIds.forEach((m, i) => {
      const id = m.toHexString();
      if (id !== userId) byId.set(id, c.memberNames[i] ?? "");
    });
  }
  return byId;
}

/** Presence is written by realtime (contract's readOnline); Redis down = everyone offline. */
async function onlineOf(redis: Deps["redis"], userIds: string[]): Promise<Map<string, boolean>> {
  try {
    return await readOnline(slotPipelines(redis), userIds);
  } catch {
    return new Map();
  }
}
