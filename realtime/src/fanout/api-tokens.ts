/**
 * The tokens realtime asks the api with on a user's behalf (their contacts at their first
 * socket, a conversation's members for a typing frame). Realtime does not keep the token a
 * socket opened with: at 379 bytes it was the largest thing an idle socket held
 * (bench/results/socket-memory-5000.md). It signs a short-lived token for the same session
 * instead, with the secret, issuer and audience every service shares and the same `sub`, `sid`
 * and `sat`, so the api refuses it exactly when it would refuse the session's own token (signed
 * out, user gone), and it never outlives that token.
 *
 * A token's expiry is rounded up to the minute and it carries no `iat`, so the asks made for one
 * session within a minute carry one and the same token, which the api verifies once (its
 * verified-token cache, kit/session).
 */
import type { JwtSettings } from "@parley/kit/config";
import { SignJWT } from "jose";
import type { Session } from "./session.ts";

/** How long a token realtime signs is good for, at least (seconds). */
export const ASK_TOKEN_TTL_S = 120;

export class ApiTokens {
  private key: Promise<CryptoKey> | null = null;

  constructor(private readonly jwt: JwtSettings) {}

  /** A token for `session`, good for ASK_TOKEN_TTL_S (to the minute) or until the session's own expiry. */
  async forSession(
    session: Pick<Session, "userId" | "sid" | "startedAt" | "tokenExp">,
    nowMs = Date.now(),
  ): Promise<string> {
    const roundedUp = Math.ceil((nowMs / 1000 + ASK_TOKEN_TTL_S) / 60) * 60;
    const exp = session.tokenExp === undefined ? roundedUp : Math.min(roundedUp, session.tokenExp);
    return new SignJWT({ sid: session.sid, sat: session.startedAt })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(session.userId)
      .setIssuer(this.jwt.jwtIssuer)
      .setAudience(this.jwt.jwtAudience)
      .setExpirationTime(exp)
      .sign(await this.signingKey());
  }

  /** The HMAC key, imported once (jose would import a raw secret again for every token). */
  private signingKey(): Promise<CryptoKey> {
    this.key ??= crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(this.jwt.jwtSecret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return this.key;
  }
}
