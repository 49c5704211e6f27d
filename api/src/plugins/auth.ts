/**
 * Resolves the signed-in user once per request from `Authorization: Bearer <jwt>` or the
 * `session` cookie, and exposes it as `me` to every route registered after `.use(auth(deps))`.
 * Anything kit/session does not accept (a valid, unexpired HS256 token of this issuer and
 * audience whose subject is a user id) is 401.
 */
import { SESSION_COOKIE, verifySession } from "@parley/kit/session";
import { Elysia } from "elysia";
import type { Deps } from "../libs/deps.ts";
import { unauthorized } from "../libs/errors.ts";
import { bearerToken, sessionJwt } from "../libs/session.ts";

export type Me = { id: string; username: string };

export const auth = ({ config }: Pick<Deps, "config">) =>
  new Elysia({ name: "auth", seed: `${config.jwtIssuer}|${config.jwtAudience}|${config.jwtTtlSeconds}` })
    .use(sessionJwt(config))
    .resolve({ as: "scoped" }, async ({ sessionJwt: tokens, headers, cookie }) => {
      const fromCookie = cookie[SESSION_COOKIE]?.value;
      const token =
        bearerToken(headers.authorization) ?? (typeof fromCookie === "string" && fromCookie ? fromCookie : undefined);
      if (!token) throw unauthorized();
      const session = await verifySession(tokens, token, config);
      if (!session) throw unauthorized();
      const me: Me = { id: session.userId, username: session.username };
      return { me };
    });
