/**
 * `/ws`: origin, token and sign-out are checked in `resolve` (runs once, before the upgrade;
 * refusal is HTTP 403/401). On open the client gets `ready`, then its contacts' presence; its
 * only frame is `typing`. A user holds at most WS_MAX_SOCKETS_PER_USER sockets here (more are
 * closed with 4004), and every socket's frames are limited (Session.admit) before any work.
 */
import { errorBody } from "@parley/contract/errors";
import { CLOSE_CODES } from "@parley/contract/limits";
import type { Revocations } from "@parley/kit/revocation";
import { SESSION_COOKIE, verifySession } from "@parley/kit/session";
import { Elysia, status } from "elysia";
import { jwt } from "@elysiajs/jwt";
import type { ServerWebSocket } from "bun";
import type { RedisClient } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";
import type { Config } from "../config.ts";
import type { LocalUsers } from "../fanout/local-users.ts";
import { Session } from "../fanout/session.ts";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import { extractToken, looksLikeJwt, originAllowed } from "./auth.ts";
import { parseClientFrame } from "./frames.ts";
import { TypingRelay, type TypingResult } from "./typing.ts";

export type SocketDeps = {
  config: Config;
  users: LocalUsers;
  /** the command connection, to publish typing */
  commands: RedisClient;
  revocations: Revocations;
  metrics: RealtimeMetrics;
  log: Logger;
  shuttingDown: () => boolean;
};

const REFUSALS: Record<Exclude<TypingResult, "ok">, [code: "not_found" | "rate_limited" | "unavailable", string]> = {
  not_member: ["not_found", "no such conversation"],
  rate_limited: ["rate_limited", "typing frames are limited per conversation and per user; this one was dropped"],
  unavailable: ["unavailable", "could not check the conversation right now"],
};

export function socketRoutes(deps: SocketDeps) {
  const { config, users, metrics, log } = deps;
  const sessions = new Map<ServerWebSocket<unknown>, Session>();
  const typing = new TypingRelay({ users, commands: deps.commands, log });

  return new Elysia({ name: "socket" })
    .use(jwt({ name: "sessionJwt", secret: config.jwtSecret }))
    .resolve(async ({ headers, query, cookie, set, sessionJwt }) => {
      if (deps.shuttingDown())
        return status(503, errorBody("unavailable", "this replica is shutting down; connect again"));
      if (!originAllowed(headers.origin, headers.host, config.allowedOrigins)) {
        return status(403, errorBody("forbidden", "this origin may not open a socket"));
      }
      const cookieValue = cookie[SESSION_COOKIE]?.value;
      const source = extractToken(headers, query, typeof cookieValue === "string" ? cookieValue : undefined);
      if (!source || !looksLikeJwt(source.token))
        return status(401, errorBody("unauthorized", "sign in first: no valid session token"));
      const session = await verifySession(sessionJwt, source.token, config);
      if (!session || (await deps.revocations.isRevoked(session)))
        return status(401, errorBody("unauthorized", "the session token is invalid, expired or signed out"));
      // A client that offered ["bearer", <jwt>] only accepts the socket if we pick "bearer".
      if (source.via === "subprotocol") set.headers["sec-websocket-protocol"] = "bearer";
      return { auth: { ...session, token: source.token } };
    })
    .ws("/ws", {
      open(ws) {
        const { userId, exp, token, sid, startedAt } = ws.data.auth;
        const raw = ws.raw as ServerWebSocket<unknown>;
        if (users.sessionsOf(userId).size >= config.maxSocketsPerUser) {
          metrics.refusedSockets.inc({ reason: "too_many_sockets" });
          raw.close(CLOSE_CODES.tooManySockets, "too many open connections; close a tab or window");
          return;
        }
        const session = new Session(userId, raw, metrics, exp, { sid, startedAt });
        sessions.set(raw, session);
        log.debug({ userId, socket: session.id }, "socket open");
        users.join(session, token).catch((err: Error) => log.warn({ userId, err: err.message }, "join failed"));
      },
      message(ws, input) {
        const session = sessions.get(ws.raw as ServerWebSocket<unknown>);
        if (session?.admit() !== "ok") return;
        const parsed = parseClientFrame(input);
        if (!parsed.ok) {
          session.sendError("validation_failed", parsed.message);
          return;
        }
        void typing.relay(session.userId, parsed.frame.conversationId).then((result) => {
          if (result === "ok") return;
          metrics.typingRejected.inc({ reason: result });
          session.sendError(...REFUSALS[result]);
        });
      },
      close(ws, code) {
        const session = sessions.get(ws.raw as ServerWebSocket<unknown>);
        if (!session) return;
        sessions.delete(ws.raw as ServerWebSocket<unknown>);
        session.markClosed();
        if (users.leave(session)) typing.forget(session.userId);
        log.debug({ userId: session.userId, socket: session.id, code }, "socket closed");
      },
    });
}
