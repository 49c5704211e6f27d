/**
 * POST /api/auth/register, /login, /logout, /logout-everywhere: tokens in the body and in the
 * `session` cookie; signing out revokes the session (kit/revocation), so the token stops working
 * everywhere at once, sockets included.
 */
import { Elysia } from "elysia";
import { SESSION_COOKIE } from "@parley/kit/session";
import type { Deps } from "../../libs/deps.ts";
import { cookieSecure, newSessionClaims, sessionJwt } from "../../libs/session.ts";
import { clientAddress } from "../../libs/client.ts";
import { NoContent } from "../../libs/openapi.ts";
import { auth, tokenSession } from "../../plugins/auth.ts";
import { AuthResponse, Credentials, ErrorBody, LoginBody } from "./model.ts";
import * as accounts from "./service.ts";

export const authRoutes = (deps: Deps) =>
  new Elysia({ prefix: "/api/auth", tags: ["auth"] })
    .use(sessionJwt(deps.config))
    .derive(({ sessionJwt: tokens, cookie, request }) => ({
      /** signs a new session for `user` and sets it as the HttpOnly cookie too */
      startSession: async (user: { id: string; username: string }) => {
        const token = await tokens.sign(newSessionClaims(user));
        cookie[SESSION_COOKIE]!.set({
          value: token,
          httpOnly: true,
          sameSite: "lax",
          path: "/",
          secure: cookieSecure(deps.config, request),
          maxAge: deps.config.jwtTtlSeconds,
        });
        return token;
      },
      clearSession: () => {
        cookie[SESSION_COOKIE]!.set({
          value: "",
          httpOnly: true,
          sameSite: "lax",
          path: "/",
          secure: cookieSecure(deps.config, request),
          maxAge: 0,
          expires: new Date(0),
        });
      },
    }))
    .post(
      "/register",
      async ({ body, startSession, set, request, server, headers }) => {
        const user = await accounts.register(deps, body, clientAddress(deps.config, request, server, headers));
        set.status = 201;
        return { user, token: await startSession(user) };
      },
      {
        body: Credentials,
        response: { 201: AuthResponse, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody, 503: ErrorBody },
        detail: { summary: "Create an account and sign in (limited per address)" },
      },
    )
    .post(
      "/login",
      async ({ body, startSession, request, server, headers }) => {
        const user = await accounts.login(deps, body, clientAddress(deps.config, request, server, headers));
        return { user, token: await startSession(user) };
      },
      {
        body: LoginBody,
        response: { 200: AuthResponse, 401: ErrorBody, 422: ErrorBody, 429: ErrorBody, 503: ErrorBody },
        detail: { summary: "Sign in" },
      },
    )
    .post(
      "/logout",
      async ({ sessionJwt: tokens, headers, cookie, clearSession, set }) => {
        // whatever session the token names is revoked (asking nothing else: the database may be
        // away); no valid token, nothing to revoke, and signing out still succeeds
        const session = await tokenSession(deps, tokens, headers.authorization, cookie[SESSION_COOKIE]?.value);
        // the cookie goes before the revocation: signing out always signs this browser out
        clearSession();
        if (session) await accounts.signOut(deps, session);
        set.status = 204;
      },
      {
        response: { 204: NoContent, 422: ErrorBody, 403: ErrorBody, 503: ErrorBody },
        detail: { summary: "Sign out: revokes this session (its sockets close) and clears the cookie" },
      },
    )
    .use(auth(deps))
    .post(
      "/logout-everywhere",
      async ({ me, clearSession, set }) => {
        clearSession();
        await accounts.signOutEverywhere(deps, me.id);
        set.status = 204;
      },
      {
        response: { 204: NoContent, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody, 503: ErrorBody },
        detail: { summary: "Sign out everywhere: revokes every session of the user, this one included" },
      },
    );
