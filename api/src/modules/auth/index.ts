/** POST /api/auth/register, /login, /logout: tokens in the body and in the `session` cookie. */
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { SESSION_COOKIE } from "@parley/kit/session";
import { cookieSecure, sessionJwt } from "../../libs/session.ts";
import { clientAddress } from "../../libs/client.ts";
import { AuthResponse, Credentials, ErrorBody, LoginBody } from "./model.ts";
import * as accounts from "./service.ts";

export const authRoutes = (deps: Deps) =>
  new Elysia({ prefix: "/api/auth", tags: ["auth"] })
    .use(sessionJwt(deps.config))
    .derive(({ sessionJwt: tokens, cookie, request }) => ({
      /** signs a session for `user` and sets it as the HttpOnly cookie too */
      startSession: async (user: { id: string; username: string }) => {
        const token = await tokens.sign({ sub: user.id, username: user.username });
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
    }))
    .post(
      "/register",
      async ({ body, startSession, set }) => {
        const user = await accounts.register(deps, body);
        set.status = 201;
        return { user, token: await startSession(user) };
      },
      {
        body: Credentials,
        response: { 201: AuthResponse, 409: ErrorBody, 422: ErrorBody },
        detail: { summary: "Create an account and sign in" },
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
        response: { 200: AuthResponse, 401: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        detail: { summary: "Sign in" },
      },
    )
    .post(
      "/logout",
      ({ cookie, set, request }) => {
        cookie[SESSION_COOKIE]!.set({
          value: "",
          httpOnly: true,
          sameSite: "lax",
          path: "/",
          secure: cookieSecure(deps.config, request),
          maxAge: 0,
          expires: new Date(0),
        });
        set.status = 204;
      },
      { detail: { summary: "Sign out (clears the session cookie)" } },
    );
