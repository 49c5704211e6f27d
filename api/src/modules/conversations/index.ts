/**
 * POST/GET /api/conversations, GET /api/conversations/members, GET /api/conversations/:id,
 * PUT /api/conversations/:id/mute
 */
import { CONVERSATIONS_PAGE_MAX } from "@parley/contract/limits";
import { Elysia } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { auth } from "../../plugins/auth.ts";
import {
  ConversationMembersQuery,
  ConversationMembersResponse,
  ConversationParams,
  ConversationResponse,
  ConversationsQuery,
  ConversationsResponse,
  CreateConversationBody,
  ErrorBody,
  MuteBody,
} from "./model.ts";
import * as conversations from "./service.ts";

export const conversationRoutes = (deps: Deps) =>
  new Elysia({ prefix: "/api/conversations", tags: ["conversations"] })
    .use(auth(deps))
    .post(
      "",
      async ({ me, body, set }) => {
        const { conversation, created } = await conversations.create(deps, me.id, body);
        set.status = created ? 201 : 200;
        return { conversation };
      },
      {
        body: CreateConversationBody,
        response: {
          200: ConversationResponse,
          201: ConversationResponse,
          401: ErrorBody,
          404: ErrorBody,
          422: ErrorBody,
          429: ErrorBody,
        },
        detail: {
          summary:
            "Start a direct chat (one other member; returns the existing one with 200) or a group (limited per creator)",
        },
      },
    )
    .get("", async ({ me, query }) => conversations.list(deps, me.id, query), {
      query: ConversationsQuery,
      response: { 200: ConversationsResponse, 401: ErrorBody, 422: ErrorBody },
      detail: { summary: "My conversations, newest activity first, a page at a time (follow nextCursor)" },
    })
    .get(
      "/members",
      async ({ me, query }) => conversations.members(deps, me.id, query.limit ?? CONVERSATIONS_PAGE_MAX),
      {
        query: ConversationMembersQuery,
        response: { 200: ConversationMembersResponse, 401: ErrorBody, 422: ErrorBody },
        detail: {
          summary:
            "Who is in each of my most recent conversations (newest activity first), and each member list's version: what realtime follows presence for",
        },
      },
    )
    .get("/:id", async ({ me, params }) => ({ conversation: await conversations.get(deps, params.id, me.id) }), {
      params: ConversationParams,
      response: { 200: ConversationResponse, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: "One conversation (404 unless you are a member)" },
    })
    .put(
      "/:id/mute",
      async ({ me, params, body }) => ({
        conversation: await conversations.setMuted(deps, params.id, me.id, body.muted),
      }),
      {
        params: ConversationParams,
        body: MuteBody,
        response: { 200: ConversationResponse, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
        detail: { summary: "Mute or unmute a conversation for me (no notification, not bold, still counted)" },
      },
    );
