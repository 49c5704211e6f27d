/** GET/POST /api/conversations/:id/messages, POST /api/conversations/:id/read */
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { NoContent } from "../../libs/openapi.ts";
import { auth } from "../../plugins/auth.ts";
import {
  ConversationParams,
  ErrorBody,
  MessageResponse,
  MessagesPage,
  MessagesQuery,
  ReadBody,
  SendMessageBody,
} from "./model.ts";
import * as messages from "./service.ts";

export const messageRoutes = (deps: Deps) =>
  new Elysia({ prefix: "/api/conversations/:id", tags: ["messages"] })
    .use(auth(deps))
    .get("/messages", async ({ me, params, query }) => messages.history(deps, params.id, me.id, query), {
      params: ConversationParams,
      query: MessagesQuery,
      response: { 200: MessagesPage, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: "History: ?after=<seq> (catch up) or ?before=<seq> (older), ascending seq" },
    })
    .post(
      "/messages",
      async ({ me, params, body, set }) => {
        const { message, created } = await messages.send(deps, params.id, me.id, body);
        set.status = created ? 201 : 200;
        return { message };
      },
      {
        params: ConversationParams,
        body: SendMessageBody,
        response: {
          200: MessageResponse,
          201: MessageResponse,
          401: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
        detail: { summary: "Send (201); the same clientId again returns the original (200)" },
      },
    )
    .post(
      "/read",
      async ({ me, params, body, set }) => {
        await messages.markRead(deps, params.id, me.id, body.seq);
        set.status = 204;
      },
      {
        params: ConversationParams,
        body: ReadBody,
        response: { 204: NoContent, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
        detail: { summary: "Move my read position forward (never back; above the last seq is clamped)" },
      },
    );
