/**
 * `/ws`: origin, token and sign-out are checked in `resolve` (runs once, before the upgrade;
 * refusal is HTTP 403/401). On open the client gets `ready`, then its contacts' presence; its
 * only frame is `typing`. A user holds at most WS_MAX_SOCKETS_PER_USER sockets here (more are
 * closed with 4004), and every socket's frames are limited (Session.admit) before any work.
 */
import { errorBody } from "@parley/contract/errors";
import { CLOSE_CODES } from "@parley/contract/limits";
import type { Revocations } from "@parley/kit/revocation";
import { SESSION_COOKIE, type SessionClaims, type TokenVerifier, verifySession } from "@parley/kit/session";
import { Elysia, status } from "elysia";
import { jwt } from "@elysiajs/jwt";
import type { ServerWebSocket } from "bun";
import type { RedisClient } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";
import type { Config } from "../config.ts";
import type { LocalUsers } from "../fanout/local-users.ts";
import type { Openings } from "../fanout/openings.ts";
import { EXPIRY_TICK_MS, ExpiryWheel } from "../fanout/expiry.ts";
import { TurnOutbox } from "../fanout/outbox.ts";
import { Session } from "../fanout/session.ts";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import { extractToken, looksLikeJwt, originAllowed } from "./auth.ts";
import { parseClientFrame } from "./frames.ts";
import { TypingRelay, type TypingResult } from "./typing.ts";

export type SocketDeps = {
  config: Config;
  users: LocalUsers;
  /** sockets being opened: an upgrade counts from its request (the join counts on from its open) */
  openings: Openings;
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

/**
 * What Bun keeps for one socket (`ws.data`): its auth until it opens, then its Session, and the
 * shared handlers (Elysia's websocket dispatcher calls `ws.data.open/message/close`). Elysia's own
 * `.ws()` keeps the whole request context and a set of closures per socket (~7 KB of heap and
 * the Request with its headers, measured); a socket here costs this object and its Session.
 */
class SocketData {
  session: Session | null = null;
  constructor(
    private readonly handlers: SocketHandlers,
    public auth: SessionClaims | null,
  ) {}
  open(ws: Socket): void {
    this.handlers.open(ws, this);
  }
  message(_ws: Socket, input: string | Buffer): void {
    this.handlers.message(this, input);
  }
  close(_ws: Socket, code: number): void {
    this.handlers.close(this, code);
  }
}
type Socket = ServerWebSocket<SocketData>;

/** The socket lifecycle, one instance for every socket of this replica. */
class SocketHandlers {
  private readonly typing: TypingRelay;
  /** every socket's token expiry, on one timer */
  private readonly expiry = new ExpiryWheel<Session>((s) => s.close(CLOSE_CODES.sessionExpired, "session expired"));
  /** every socket's frames, written at the end of each turn */
  private readonly outbox: TurnOutbox;

  constructor(private readonly deps: SocketDeps) {
    this.typing = new TypingRelay({ users: deps.users, commands: deps.commands, log: deps.log });
    this.outbox = new TurnOutbox(deps.metrics, deps.log);
    // unref: the timer alone does not keep a stopping process alive
    setInterval(() => this.expiry.tick(), EXPIRY_TICK_MS).unref();
  }

  open(ws: Socket, data: SocketData): void {
    const { config, users, metrics, log } = this.deps;
    const auth = data.auth;
    data.auth = null;
    if (!auth) return;
    const { userId, exp, sid, startedAt } = auth;
    const raw = ws as ServerWebSocket<unknown>;
    if (users.sessionsOf(userId).length >= config.maxSocketsPerUser) {
      metrics.refusedSockets.inc({ reason: "too_many_sockets" });
      raw.close(CLOSE_CODES.tooManySockets, "too many open connections; close a tab or window");
      return;
    }
    const session = new Session(userId, raw, this.outbox, exp, { sid, startedAt });
    if (!this.expiry.add(session, exp)) {
      // expired between the upgrade and now
      raw.close(CLOSE_CODES.sessionExpired, "session expired");
      return;
    }
    data.session = session;
    log.debug({ userId, socket: session.id }, "socket open");
    users.join(session).catch((err: Error) => log.warn({ userId, err: err.message }, "join failed"));
  }

  message(data: SocketData, input: string | Buffer): void {
    const session = data.session;
    if (session?.admit() !== "ok") return;
    // Bun's handlers have no catch around them: whatever a client sends must not reach the process
    try {
      this.handle(session, input);
    } catch (err) {
      this.deps.log.error({ userId: session.userId, err: (err as Error).message }, "frame handling failed");
      session.sendError("validation_failed", "this frame could not be handled");
    }
  }

  private handle(session: Session, input: string | Buffer): void {
    const parsed = parseClientFrame(typeof input === "string" ? input : null);
    if (!parsed.ok) {
      session.sendError("validation_failed", parsed.message);
      return;
    }
    void this.typing.relay(session.userId, parsed.frame.conversationId).then((result) => {
      if (result === "ok") return;
      this.deps.metrics.typingRejected.inc({ reason: result });
      session.sendError(...REFUSALS[result]);
    });
  }

  close(data: SocketData, code: number): void {
    const session = data.session;
    if (!session) return;
    data.session = null;
    session.markClosed();
    if (session.tokenExp !== undefined) this.expiry.remove(session, session.tokenExp);
    if (this.deps.users.leave(session)) this.typing.forget(session.userId);
    this.deps.log.debug({ userId: session.userId, socket: session.id, code }, "socket closed");
  }
}

export function socketRoutes(deps: SocketDeps) {
  const { config } = deps;
  const handlers = new SocketHandlers(deps);
  /** The token's session, unless the token is bad or the session signed out. */
  const sessionOf = async (verifier: TokenVerifier, token: string): Promise<SessionClaims | null> => {
    // not remembered: a socket's token is checked once, and an idle socket keeps no token (api-tokens.ts)
    const session = await verifySession(verifier, token, config, { remember: false });
    return session && !(await deps.revocations.isRevoked(session)) ? session : null;
  };

  // /ws is upgraded by hand (route method "WS", which Elysia's own .ws() uses), so that the
  // socket keeps a SocketData and not the request's context (see SocketData).
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
      // the socket is opening from here on: contact lists wait while sockets are (openings.ts)
      const opened = deps.openings.begin();
      const session = await sessionOf(sessionJwt, source.token).finally(opened);
      if (!session)
        return status(401, errorBody("unauthorized", "the session token is invalid, expired or signed out"));
      // A client that offered ["bearer", <jwt>] only accepts the socket if we pick "bearer".
      if (source.via === "subprotocol") set.headers["sec-websocket-protocol"] = "bearer";
      return { auth: session };
    })
    .route("WS", "/ws", ({ request, server, set, auth }) => {
      const upgraded = server?.upgrade(request, {
        headers: set.headers as Record<string, string>,
        data: new SocketData(handlers, auth),
      });
      if (!upgraded) return status(400, errorBody("validation_failed", "expected a WebSocket upgrade"));
    });
}
