/**
 * Accounts: argon2id password hashes (libs/passwords.ts, bounded), usernames unique regardless
 * of case, registrations limited per address, sign-in failures throttled (throttle.ts), and
 * sessions that sign out for real (revoked in Redis, see kit/revocation).
 */
import type { Credentials, LoginBody, User } from "@parley/contract";
import { USERNAME_PATTERN } from "@parley/contract/limits";
import type { SessionClaims } from "@parley/kit/session";
import type { Deps } from "../../libs/deps.ts";
import type { mongo } from "mongoose";
import { prefixEntries, type UsernamePrefixDoc } from "../../libs/collections.ts";
import { isDuplicateKey, type UserDoc } from "../../libs/db.ts";
import { ApiError, rateLimited } from "../../libs/errors.ts";
import { addressKey, countAttempt, rememberAddress } from "./throttle.ts";

export const toUser = (u: Pick<UserDoc, "_id" | "username" | "createdAt">): User => ({
  id: u._id.toHexString(),
  username: u.username,
  createdAt: u.createdAt.toISOString(),
});

const USERNAME = new RegExp(USERNAME_PATTERN);

type AccountDeps = Pick<Deps, "db" | "limiter" | "redis" | "config" | "log" | "passwords">;

export async function register(deps: AccountDeps, { username, password }: Credentials, address: string): Promise<User> {
  const { db, limiter, config } = deps;
  // every registration costs a hash: limited per address before any work is done
  const [counted] = (await limiter.hit([`register:${addressKey(address)}`], config.registerRateWindowSeconds)) ?? [];
  if (counted && counted.count > config.registerRateMax) {
    throw rateLimited(counted.retryAfterSeconds, "too many new accounts from this address; try again later");
  }
  const passwordHash = await deps.passwords.hash(password);
  try {
    const doc = await db.User.create({
      username,
      usernameLower: username.toLowerCase(),
      passwordHash,
      createdAt: new Date(),
    });
    await indexName(db, doc);
    await rememberAddress(deps, username, address);
    return toUser(doc);
  } catch (err) {
    if (isDuplicateKey(err)) throw new ApiError("conflict", "that username is taken");
    throw err;
  }
}

/**
 * The user's name prefixes for the user search (after the user: a name that lost the race for
 * uniqueness must not show up). Idempotent; a sign-in repairs a registration that stopped
 * between the two writes.
 */
const prefixCollection = (db: Deps["db"]) =>
  db.UsernamePrefix.collection as unknown as mongo.Collection<UsernamePrefixDoc>;

async function indexName(db: Deps["db"], user: Pick<UserDoc, "_id" | "username">): Promise<void> {
  await prefixCollection(db)
    .insertMany(prefixEntries(user), { ordered: false })
    .catch((err: mongo.MongoBulkWriteError) => {
      if ([err.writeErrors].flat().some((e) => e.code !== 11000)) throw err;
    });
}

export async function login(deps: AccountDeps, { username, password }: LoginBody, address: string): Promise<User> {
  const { db } = deps;
  const attempt = await countAttempt(deps, username, address);
  if (attempt.retryAfter > 0) throw rateLimited(attempt.retryAfter);
  // a name no account can have is not looked up (the password is still checked, against a dummy)
  const user = USERNAME.test(username) ? await db.User.findOne({ usernameLower: username.toLowerCase() }).lean() : null;
  const ok = await deps.passwords.verify(password, user?.passwordHash);
  if (!user || !ok) {
    // the address, never the username typed (people type passwords into it by mistake)
    deps.log.info(
      { event: "login_failed", address: addressKey(address) },
      "sign-in refused: wrong username or password",
    );
    throw new ApiError("unauthorized", "wrong username or password");
  }
  await attempt.succeeded();
  const whole = prefixEntries(user).at(-1)!;
  if (!(await prefixCollection(db).findOne({ _id: whole._id }))) await indexName(db, user);
  return toUser(user);
}

/** Revokes one session: its token stops working on every api process and its sockets close. */
export async function signOut(deps: Pick<Deps, "revocations" | "log">, session: SessionClaims): Promise<void> {
  await deps.revocations.revoke(session).catch((err) => Promise.reject(notRevoked(deps, err)));
}

/** Revokes every session the user started until now ("sign out everywhere"). */
export async function signOutEverywhere(deps: Pick<Deps, "revocations" | "log">, userId: string): Promise<void> {
  await deps.revocations.revokeAll(userId).catch((err) => Promise.reject(notRevoked(deps, err)));
}

/** Redis did not take the revocation: the cookie is cleared, but the token would still work. */
function notRevoked(deps: Pick<Deps, "log">, err: unknown): ApiError {
  deps.log.warn({ err: (err as Error).message }, "could not revoke a session");
  return new ApiError("unavailable", "signing out did not reach every server; try again in a moment", undefined, {
    "retry-after": "2",
  });
}
