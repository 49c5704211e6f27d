/** Who am I, and finding people to talk to (prefix search with presence). */
import type { User, UserSummary } from "@parley/contract";
import { readOnline } from "@parley/contract/frames";
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
 * Case-insensitive prefix search as a range on the indexed lowercased username
 * (`>= prefix`, `< prefix + \uffff`), so no regular expression is built from user input.
 */
export async function search(
  { db, redis }: Pick<Deps, "db" | "redis">,
  userId: string,
  q: string | undefined,
  limit: number,
): Promise<UserSummary[]> {
  const prefix = (q ?? "").trim().toLowerCase();
  const filter = {
    _id: { $ne: oid(userId) },
    ...(prefix ? { usernameLower: { $gte: prefix, $lt: `${prefix}\uffff` } } : {}),
  };
  const users = await db.User.find(filter).sort({ usernameLower: 1 }).limit(limit).select({ username: 1 }).lean();
  const online = await onlineOf(
    redis,
    users.map((u) => u._id.toHexString()),
  );
  return users.map((u) => {
    const id = u._id.toHexString();
    return { id, username: u.username, online: online.get(id) ?? false };
  });
}

/** Presence is written by realtime (contract's readOnline); Redis down = everyone offline. */
async function onlineOf(redis: Deps["redis"], userIds: string[]): Promise<Map<string, boolean>> {
  try {
    return await readOnline(redis, userIds);
  } catch {
    return new Map();
  }
}
