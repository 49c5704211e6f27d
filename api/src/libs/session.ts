/**
 * Issuing session tokens: HS256 JWTs with expiry, issuer and audience (@elysiajs/jwt), carried
 * as a Bearer header or the HttpOnly `session` cookie. Each names its session (`sid`, random) and
 * when it started (`sat`, ms), which is what signing out revokes (kit/revocation). They are
 * checked by kit/session, the same way realtime checks them.
 */
import { jwt } from "@elysiajs/jwt";
import { newSessionId } from "@parley/kit/session";
import type { Config } from "../config.ts";

export const sessionJwt = (config: Config) =>
  jwt({
    name: "sessionJwt",
    secret: config.jwtSecret,
    alg: "HS256",
    iss: config.jwtIssuer,
    aud: config.jwtAudience,
    exp: `${config.jwtTtlSeconds}s`,
  });

/** The claims of a new session's token beside the standard ones. */
export const newSessionClaims = (user: { id: string; username: string }) => ({
  sub: user.id,
  username: user.username,
  sid: newSessionId(),
  sat: Date.now(),
});

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  return m?.[1];
}

/** Secure per COOKIE_SECURE; "auto" follows the scheme the client used (directly or via a proxy). */
export function cookieSecure(config: Config, request: Request): boolean {
  if (config.cookieSecure !== "auto") return config.cookieSecure === "true";
  if (new URL(request.url).protocol === "https:") return true;
  return request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}
