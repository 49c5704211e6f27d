/**
 * Session tokens are checked one way in every service: HS256 only (so `alg: none` and every
 * other algorithm are refused), this issuer and audience, an expiry, and a subject that is a
 * user id. Anything else is no session at all.
 */
import { isId } from "@parley/contract/limits";
import type { JwtSettings } from "./config.ts";

/** The HttpOnly cookie that carries the token for the browser. */
export const SESSION_COOKIE = "session";

export const verifyOptions = (jwt: JwtSettings) => ({
  algorithms: ["HS256"],
  issuer: jwt.jwtIssuer,
  audience: jwt.jwtAudience,
  requiredClaims: ["exp", "sub"],
});

/** What @elysiajs/jwt's `verify` offers: the claims of a valid token, or false. */
export type TokenVerifier = {
  verify(
    token: string,
    options: ReturnType<typeof verifyOptions>,
  ): Promise<{ sub?: unknown; exp?: unknown; username?: unknown } | false>;
};

/** Who a valid token belongs to, and until when (`exp`, seconds since epoch). */
export type SessionClaims = { userId: string; username: string; exp: number };

export async function verifySession(
  verifier: TokenVerifier,
  token: string,
  jwt: JwtSettings,
): Promise<SessionClaims | null> {
  const claims = await verifier.verify(token, verifyOptions(jwt));
  if (!claims || !isId(claims.sub) || typeof claims.exp !== "number") return null;
  return { userId: claims.sub, username: typeof claims.username === "string" ? claims.username : "", exp: claims.exp };
}
