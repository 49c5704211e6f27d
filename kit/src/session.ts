/**
 * Session tokens are checked one way in every service: HS256 only (so `alg: none` and every
 * other algorithm are refused), this issuer and audience, an expiry, a subject that is a user
 * id, and a session id with its start (what logout revokes, see revocation.ts). Anything else is
 * no session at all; tokens issued before sessions had ids are refused (sign in again once).
 */
import { isId } from "@parley/contract/limits";
import { SignJWT } from "jose";
import type { JwtSettings } from "./config.ts";

/** The HttpOnly cookie that carries the token for the browser. */
export const SESSION_COOKIE = "session";

export const verifyOptions = (jwt: JwtSettings) => ({
  algorithms: ["HS256"],
  issuer: jwt.jwtIssuer,
  audience: jwt.jwtAudience,
  requiredClaims: ["exp", "sub", "sid", "sat"],
});

/** What @elysiajs/jwt's `verify` offers: the claims of a valid token, or false. */
export type TokenVerifier = {
  verify(
    token: string,
    options: ReturnType<typeof verifyOptions>,
  ): Promise<{ sub?: unknown; exp?: unknown; username?: unknown; sid?: unknown; sat?: unknown } | false>;
};

/** A session token's own claims (beside iss, aud, exp and iat): whose, which session, since when (ms). */
export type SessionTokenClaims = { sub: string; sid: string; sat: number; username?: string };

/**
 * Signs session tokens the way the api issues them (HS256, the shared secret, issuer and
 * audience), the HMAC key imported once, for what issues them outside the api's @elysiajs/jwt:
 * realtime's asks on a user's behalf (realtime/src/fanout/api-tokens.ts) and the benches'
 * seeded users. `exp` and `iat` in seconds; without `iat` the token has none.
 */
export function sessionSigner(jwt: JwtSettings) {
  let key: Promise<CryptoKey> | null = null;
  return async (claims: SessionTokenClaims, exp: number, iat?: number): Promise<string> => {
    key ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(jwt.jwtSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const token = new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(jwt.jwtIssuer)
      .setAudience(jwt.jwtAudience)
      .setExpirationTime(exp);
    if (iat !== undefined) token.setIssuedAt(iat);
    return token.sign(await key);
  };
}

/** Session ids: 128 random bits, base64url. */
const SID = /^[A-Za-z0-9_-]{16,64}$/;
export const newSessionId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");

/**
 * Who a valid token belongs to, until when (`exp`, seconds since epoch), and which session it
 * is: `sid` names it, `startedAt` (ms, the `sat` claim) orders it against "sign out everywhere".
 */
export type SessionClaims = { userId: string; username: string; exp: number; sid: string; startedAt: number };

/**
 * Tokens already verified, per verifier (its secret and options): a token is sent with every
 * request, and checking its HMAC (with the key imported again by jose each time) was about a
 * tenth of the api's CPU per send (bench/results/send-path-profile.md). The cache is keyed by
 * the whole token, so a token differing in any byte is verified afresh; only valid tokens are
 * kept (garbage cannot fill it), each until its own expiry, at most VERIFIED_MAX at once.
 * Revocation is not cached here: callers check it on every request. `remember: false` checks
 * without the cache (realtime's socket upgrade: one check per socket, and keeping the token
 * would keep it for as long as the socket is open).
 */
const VERIFIED_MAX = 10_000;
const verifiedBy = new WeakMap<TokenVerifier, Map<string, SessionClaims>>();

export async function verifySession(
  verifier: TokenVerifier,
  token: string,
  jwt: JwtSettings,
  { remember = true }: { remember?: boolean } = {},
): Promise<SessionClaims | null> {
  if (!remember) return verifyToken(verifier, token, jwt);
  let verified = verifiedBy.get(verifier);
  if (!verified) {
    verified = new Map();
    verifiedBy.set(verifier, verified);
  }
  const known = verified.get(token);
  if (known) {
    if (known.exp * 1000 > Date.now()) return known;
    verified.delete(token);
  }
  const session = await verifyToken(verifier, token, jwt);
  if (session) {
    // the oldest entry makes room (a Map iterates in insertion order)
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
    verified.set(token, session);
  }
  return session;
}

async function verifyToken(verifier: TokenVerifier, token: string, jwt: JwtSettings): Promise<SessionClaims | null> {
  const claims = await verifier.verify(token, verifyOptions(jwt));
  if (!claims || !isId(claims.sub) || typeof claims.exp !== "number") return null;
  if (typeof claims.sid !== "string" || !SID.test(claims.sid) || typeof claims.sat !== "number") return null;
  return {
    userId: claims.sub,
    username: typeof claims.username === "string" ? claims.username : "",
    exp: claims.exp,
    sid: claims.sid,
    startedAt: claims.sat,
  };
}
