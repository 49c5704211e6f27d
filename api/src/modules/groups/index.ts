/** PATCH /api/conversations/:id (rename), POST …/:id/members, POST …/:id/leave */
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { auth } from "../../plugins/auth.ts";
import { AddMembersBody, ConversationParams, ConversationResponse, ErrorBody, RenameBody } from "./model.ts";
import * as groups from "./service.ts";

export const groupRoutes = (deps: Deps) =>
  new Elysia({ name: "groups", prefix: "/api/conversations/:id", tags: ["groups"] })
    .use(auth(deps))
    .patch(
      "",
      async ({ me, params, body }) => ({ conversation: await groups.rename(deps, params.id, me.id, body.title) }),
      {
        params: ConversationParams,
        body: RenameBody,
        response: { 200: ConversationResponse, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        detail: { summary: "Rename a group (an empty title removes the name); a system line says so" },
      },
    )
    .post(
      "/members",
      async ({ me, params, body }) => ({
        conversation: await groups.addMembers(deps, params.id, me.id, body.memberIds),
      }),
      {
        params: ConversationParams,
        body: AddMembersBody,
        response: { 200: ConversationResponse, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
        detail: { summary: "Add people to a group (members already in are skipped); a system line says so" },
      },
    )
    .post(
      "/leave",
      async ({ me, params, set }) => {
        await groups.leave(deps, params.id, me.id);
        set.status = 204;
      },
      {
        params: ConversationParams,
        response: { 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
        detail: { summary: "Leave a group: from now on it is 404 to me and I receive none of its events" },
      },
    );
