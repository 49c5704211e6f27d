/**
 * Resolves the signed-in user once per request from `Authorization: Bearer <jwt>` or the
 * `session` cookie, and exposes it as `me` to every route registered after `.use(auth(deps))`.
 * A session is: a token kit/session accepts (a valid, unexpired HS256 token of this issuer and
 * audience whose subject is a user id, with a session id), not signed out (kit/revocation, in
 * memory), of a user that exists (libs/known-users, in memory). Anything else is 401.
 */
import { SESSION_COOKIE, type SessionClaims, verifySession } from "@parley/kit/session";
import { Elysia } from "elysia";
import type { Deps } from "../libs/deps.ts";
import { unauthorized } from "../libs/errors.ts";
import { bearerToken, sessionJwt } from "../libs/session.ts";

export type Me = { id: string; username: string; session: SessionClaims };

type Verifier = Parameters<typeof verifySession>[0];
type SessionDeps = Pick<Deps, "config" | "revocations" | "knownUsers">;

/** The request's session when it has a live one, else null (never throws for a bad token). */
/** The session a request's token names, by signature alone (what logout revokes), else null. */
export async function tokenSession(
  deps: Pick<Deps, "config">,
  tokens: Verifier,
  authorization: string | undefined,
  cookie: unknown,
): Promise<SessionClaims | null> {
  const token = bearerToken(authorization) ?? (typeof cookie === "string" && cookie ? cookie : undefined);
  return token ? verifySession(tokens, token, deps.config) : null;
}

export async function currentSession(
  deps: SessionDeps,
  tokens: Verifier,
  authorization: string | undefined,
  cookie: unknown,
): Promise<SessionClaims | null> {
  const session = await tokenSession(deps, tokens, authorization, cookie);
  if (!session) return null;
  const [revoked, exists] = await Promise.all([
    deps.revocations.isRevoked(session),
    deps.knownUsers.exists(session.userId),
  ]);
  return revoked || !exists ? null : session;
}

/** One id per dependency bundle: Elysia skips a plugin whose name and seed it has seen, and two
 * apps in one process (tests) must each check sessions against their own. */
const bundles = new WeakMap<object, number>();
let bundleCount = 0;
const seedOf = (deps: object) => {
  if (!bundles.has(deps)) bundles.set(deps, ++bundleCount);
  return bundles.get(deps)!;
};

export const auth = (deps: SessionDeps) =>
  new Elysia({ name: "auth", seed: seedOf(deps) })
    .use(sessionJwt(deps.config))
    .resolve({ as: "scoped" }, async ({ sessionJwt: tokens, headers, cookie }) => {
      const session = await currentSession(deps, tokens, headers.authorization, cookie[SESSION_COOKIE]?.value);
      if (!session) throw unauthorized();
      const me: Me = { id: session.userId, username: session.username, session };
      return { me };
    });
