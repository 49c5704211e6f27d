/**
 * Resolves the signed-in user once per request from `Authorization: Bearer <jwt>` or the
 * `session` cookie, and exposes it as `me` to every route registered after `.use(auth(deps))`.
 * Anything but a valid, unexpired HS256 token of this issuer and audience is 401.
 */
import { Elysia } from "elysia";
import type { Deps } from "../libs/deps.ts";
import { unauthorized } from "../libs/errors.ts";
import { SESSION_COOKIE, bearerToken, sessionJwt, verifyOptions } from "../libs/session.ts";

const ID = /^[0-9a-f]{24}$/;

export type Me = { id: string; username: string };

export const auth = ({ config }: Pick<Deps, "config">) =>
  new Elysia({ name: "auth", seed: `${config.jwtIssuer}|${config.jwtAudience}|${config.jwtTtlSeconds}` })
    .use(sessionJwt(config))
    .resolve({ as: "scoped" }, async ({ sessionJwt: tokens, headers, cookie }) => {
      const fromCookie = cookie[SESSION_COOKIE]?.value;
      const token =
        bearerToken(headers.authorization) ?? (typeof fromCookie === "string" && fromCookie ? fromCookie : undefined);
      if (!token) throw unauthorized();
      const claims = await tokens.verify(token, verifyOptions(config));
      if (!claims || typeof claims.sub !== "string" || !ID.test(claims.sub)) throw unauthorized();
      const me: Me = { id: claims.sub, username: typeof claims.username === "string" ? claims.username : "" };
      return { me };
    });
