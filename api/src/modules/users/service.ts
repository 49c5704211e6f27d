/** Who am I, and finding people to talk to (prefix search with presence). */
import type { User, UserSummary } from "@parley/contract";
import { readOnline } from "@parley/contract/frames";

const USERNAME_CHARS = /^[a-z0-9_.-]*$/;
import type { Deps } from "../../libs/deps.ts";
import { oid } from "../../libs/db.ts";
import { unauthorized } from "../../libs/errors.ts";
import { toUser } from "../auth/service.ts";

export async function me({ db }: Pick<Deps, "db">, userId: string): Promise<User> {
  const user = await db.User.findById(oid(userId)).lean();
  // a valid token of a user that no longer exists is as good as no token
  if (!user) throw unauthorized();
  return toUser(user);
}

/**
 * Case-insensitive prefix search: an equality on `searchKeys` (every prefix of each lowercased
 * name, see collections.ts), so no regular expression is built from user input and only the
 * users whose names start with the prefix are read. Without a prefix: the people the caller
 * shares a conversation with, so the list is useful and never a walk over every account.
 * Presence (`online`) is told only about people the caller shares a conversation with: anyone
 * can find a name, but whether they are online is for their contacts alone.
 */
export async function search(
  { db, redis }: Pick<Deps, "db" | "redis">,
  userId: string,
  q: string | undefined,
  limit: number,
): Promise<UserSummary[]> {
  const prefix = (q ?? "").trim().toLowerCase();
  const known = await contacts(db, userId);
  let found: { id: string; username: string }[];
  if (!prefix) {
    found = [...known]
      .map(([id, username]) => ({ id, username }))
      .sort((a, b) => (a.username.toLowerCase() < b.username.toLowerCase() ? -1 : 1))
      .slice(0, limit);
  } else if (!USERNAME_CHARS.test(prefix)) {
    // no username has characters outside USERNAME_PATTERN's: such a prefix finds nobody (and is
    // never sent to the database, which refuses some of them, NUL among them)
    found = [];
  } else {
    found = (
      await db.User.find({ searchKeys: prefix, _id: { $ne: oid(userId) } })
        .sort({ usernameLower: 1 })
        .limit(limit)
        .select({ username: 1 })
        .lean()
    ).map((u) => ({ id: u._id.toHexString(), username: u.username }));
  }
  const online = await onlineOf(
    redis,
    found.filter((u) => known.has(u.id)).map((u) => u.id),
  );
  return found.map((u) => (known.has(u.id) ? { ...u, online: online.get(u.id) ?? false } : u));
}

/** Everyone the user shares a conversation with: id → name. */
async function contacts(db: Deps["db"], userId: string): Promise<Map<string, string>> {
  const convs = await db.Conversation.find({ memberIds: oid(userId) })
    .select({ memberIds: 1, memberNames: 1 })
    .lean();
  const byId = new Map<string, string>();
  for (const c of convs) {
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
    return await readOnline(redis, userIds);
  } catch {
    return new Map();
  }
}
