/**
 * Accounts: argon2id password hashes (Bun.password), usernames unique regardless of case,
 * and login failures rate limited per username and per client address in Redis.
 */
import type { Credentials, LoginBody, User } from "@parley/contract";
import type { Deps } from "../../libs/deps.ts";
import type { mongo } from "mongoose";
import { prefixEntries, type UsernamePrefixDoc } from "../../libs/collections.ts";
import { isDuplicateKey, type UserDoc } from "../../libs/db.ts";
import { ApiError, rateLimited } from "../../libs/errors.ts";

export const toUser = (u: Pick<UserDoc, "_id" | "username" | "createdAt">): User => ({
  id: u._id.toHexString(),
  username: u.username,
  createdAt: u.createdAt.toISOString(),
});

/** Verifying unknown users against this hash makes "no such user" cost the same as "wrong password". */
let dummyHash: Promise<string> | undefined;
const dummy = () =>
  (dummyHash ??= Bun.password.hash("parley-dummy-password-that-never-matches", { algorithm: "argon2id" }));

export async function register({ db }: Pick<Deps, "db">, { username, password }: Credentials): Promise<User> {
  const passwordHash = await Bun.password.hash(password, { algorithm: "argon2id" });
  try {
    const doc = await db.User.create({
      username,
      usernameLower: username.toLowerCase(),
      passwordHash,
      createdAt: new Date(),
    });
    await indexName(db, doc);
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

/** Per-address failures may be higher than per-user ones: several people can share one address. */
const ADDRESS_FACTOR = 4;

export async function login(
  { db, limiter, config }: Pick<Deps, "db" | "limiter" | "config">,
  { username, password }: LoginBody,
  clientAddress: string,
): Promise<User> {
  const lower = username.toLowerCase();
  const keys = [`login:user:${lower}`, `login:addr:${clientAddress}`];
  const limits = [config.loginMaxFailures, config.loginMaxFailures * ADDRESS_FACTOR];
  // Count the attempt before verifying it: concurrent guesses then each see the others' hits,
  // so at most the limit of them get as far as the password check.
  const counted = await limiter.hit(keys, config.loginWindowSeconds);
  const blocked = counted?.map((w, i) => (w.count > limits[i]! ? w.retryAfterSeconds : 0)).filter((s) => s > 0) ?? [];
  if (blocked.length > 0) throw rateLimited(Math.max(...blocked));

  const user = await db.User.findOne({ usernameLower: lower }).lean();
  const ok = await Bun.password.verify(password, user?.passwordHash ?? (await dummy()));
  if (!user || !ok) throw new ApiError("unauthorized", "wrong username or password");
  // a correct password: the username starts afresh and the address gets its hit back
  await Promise.all([limiter.clear([keys[0]!]), limiter.release([keys[1]!])]);
  const whole = prefixEntries(user).at(-1)!;
  if (!(await prefixCollection(db).findOne({ _id: whole._id }))) await indexName(db, user);
  return toUser(user);
}
