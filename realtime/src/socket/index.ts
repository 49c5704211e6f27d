/**
 * `/ws`: origin and token are checked in `resolve` (runs once, before the upgrade; refusal is
 * HTTP 403/401). On open the client gets `ready`, then its contacts' presence; its only frame
 * is `typing`.
 */
import { errorBody } from "@parley/contract/errors";
import { SESSION_COOKIE, verifySession } from "@parley/kit/session";
import { Elysia, status } from "elysia";
import { jwt } from "@elysiajs/jwt";
import type { ServerWebSocket } from "bun";
import type Redis from "ioredis";
import type { Logger } from "@parley/kit/log";
import type { Config } from "../config.ts";
import type { LocalUsers } from "../fanout/local-users.ts";
import { Session } from "../fanout/session.ts";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import { extractToken, looksLikeJwt, originAllowed } from "./auth.ts";
import { parseClientFrame } from "./frames.ts";
import { TypingRelay } from "./typing.ts";

export type SocketDeps = {
  config: Config;
  users: LocalUsers;
  /** the command connection, to publish typing */
  commands: Redis;
  metrics: RealtimeMetrics;
  log: Logger;
  shuttingDown: () => boolean;
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
      if (!session) return status(401, errorBody("unauthorized", "the session token is invalid or expired"));
      // A client that offered ["bearer", <jwt>] only accepts the socket if we pick "bearer".
      if (source.via === "subprotocol") set.headers["sec-websocket-protocol"] = "bearer";
      return { auth: { userId: session.userId, exp: session.exp, token: source.token } };
    })
    .ws("/ws", {
      open(ws) {
        const { userId, exp, token } = ws.data.auth;
        const session = new Session(userId, ws.raw as ServerWebSocket<unknown>, metrics, exp);
        sessions.set(ws.raw as ServerWebSocket<unknown>, session);
        log.debug({ userId, socket: session.id }, "socket open");
        users.join(session, token).catch((err: Error) => log.warn({ userId, err: err.message }, "join failed"));
      },
      message(ws, input) {
        const session = sessions.get(ws.raw as ServerWebSocket<unknown>);
        if (!session) return;
        const parsed = parseClientFrame(input);
        if (!parsed.ok) {
          session.send({ type: "error", code: "validation_failed", message: parsed.message });
          return;
        }
        void typing.relay(session.userId, parsed.frame.conversationId).then((result) => {
          if (result === "ok") return;
          metrics.typingRejected.inc({ reason: result });
          if (result === "not_member")
            session.send({ type: "error", code: "not_found", message: "no such conversation" });
          else
            session.send({
              type: "error",
              code: "rate_limited",
              message: "typing frames are limited per conversation; this one was dropped",
            });
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
