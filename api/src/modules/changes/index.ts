/**
 * PATCH and DELETE /api/conversations/:id/messages/:seq, PUT …/:seq/reactions,
 * GET /api/conversations/:id/changes
 */
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { auth } from "../../plugins/auth.ts";
import {
  ChangesPage,
  ChangesQuery,
  ConversationParams,
  EditMessageBody,
  ErrorBody,
  MessageParams,
  MessageResponse,
  ReactionBody,
} from "./model.ts";
import * as changes from "./service.ts";

const refusals = {
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
};

export const changeRoutes = (deps: Deps) =>
  new Elysia({ name: "changes", prefix: "/api/conversations/:id", tags: ["changes"] })
    .use(auth(deps))
    .patch(
      "/messages/:seq",
      async ({ me, params, body }) => ({
        message: await changes.changeMessage(deps, params.id, me.id, params.seq, { kind: "edit", body: body.body }),
      }),
      {
        params: MessageParams,
        body: EditMessageBody,
        response: { 200: MessageResponse, ...refusals },
        detail: { summary: "Edit my message (the same body again changes nothing); 403 for someone else's" },
      },
    )
    .delete(
      "/messages/:seq",
      async ({ me, params }) => ({
        message: await changes.changeMessage(deps, params.id, me.id, params.seq, { kind: "delete" }),
      }),
      {
        params: MessageParams,
        response: { 200: MessageResponse, ...refusals },
        detail: { summary: "Delete my message: its body leaves the database, a 'deleted' line keeps its place" },
      },
    )
    .put(
      "/messages/:seq/reactions",
      async ({ me, params, body }) => ({
        message: await changes.changeMessage(deps, params.id, me.id, params.seq, { kind: "reaction", ...body }),
      }),
      {
        params: MessageParams,
        body: ReactionBody,
        response: { 200: MessageResponse, ...refusals },
        detail: { summary: "Set my reaction with one emoji on or off (repeating it changes nothing)" },
      },
    )
    .get("/changes", async ({ me, params, query }) => changes.changesSince(deps, params.id, me.id, query), {
      params: ConversationParams,
      query: ChangesQuery,
      response: { 200: ChangesPage, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: "Changes of messages after ?since=<rev>, ascending rev, no gap (catching up)" },
    });
