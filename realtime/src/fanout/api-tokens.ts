/**
 * The tokens realtime asks the api with on a user's behalf (their contacts at their first
 * socket, a conversation's members for a typing frame). Realtime does not keep the token a
 * socket opened with: at 379 bytes it was the largest thing an idle socket held
 * (bench/results/socket-memory-5000.md). It signs a short-lived token for the same session
 * instead (kit/session's sessionSigner: the secret, issuer and audience every service shares)
 * with the same `sub`, `sid` and `sat`, so the api refuses it exactly when it would refuse the
 * session's own token (signed out, user gone), and it never outlives that token.
 *
 * A token's expiry is rounded up to the minute and it carries no `iat`, so the asks made for one
 * session within a minute carry one and the same token, which the api verifies once (its
 * verified-token cache, kit/session).
 */
import type { JwtSettings } from "@parley/kit/config";
import { sessionSigner } from "@parley/kit/session";
import type { Session } from "./session.ts";

/** How long a token realtime signs is good for, at least (seconds). */
export const ASK_TOKEN_TTL_S = 120;

export class ApiTokens {
  private readonly sign: ReturnType<typeof sessionSigner>;

  constructor(jwt: JwtSettings) {
    this.sign = sessionSigner(jwt);
  }

  /** A token for `session`, good for ASK_TOKEN_TTL_S (to the minute) or until the session's own expiry. */
  forSession(session: Pick<Session, "userId" | "sid" | "startedAt" | "tokenExp">, nowMs = Date.now()): Promise<string> {
    const roundedUp = Math.ceil((nowMs / 1000 + ASK_TOKEN_TTL_S) / 60) * 60;
    const exp = session.tokenExp === undefined ? roundedUp : Math.min(roundedUp, session.tokenExp);
    return this.sign({ sub: session.userId, sid: session.sid, sat: session.startedAt }, exp);
  }
}
