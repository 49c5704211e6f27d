/** GET /api/me and GET /api/users?q=&limit= */
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { auth } from "../../plugins/auth.ts";
import { ErrorBody, MeResponse, UsersQuery, UsersResponse } from "./model.ts";
import * as users from "./service.ts";

export const userRoutes = (deps: Deps) =>
  new Elysia({ prefix: "/api", tags: ["users"] })
    .use(auth(deps))
    .get("/me", async ({ me }) => ({ user: await users.me(deps, me.id) }), {
      response: { 200: MeResponse, 401: ErrorBody },
      detail: { summary: "The signed-in user" },
    })
    .get("/users", async ({ me, query }) => ({ users: await users.search(deps, me.id, query.q, query.limit ?? 20) }), {
      query: UsersQuery,
      response: { 200: UsersResponse, 401: ErrorBody, 422: ErrorBody },
      detail: {
        summary:
          "Find users by username prefix (case-insensitive), with presence; without q, the people you share a conversation with",
      },
    });
