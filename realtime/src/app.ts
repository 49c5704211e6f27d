/**
 * Builds realtime from its dependencies (config, logger, metrics, Redis connections), so the
 * entry point and the tests assemble the very same thing.
 */
import { replicaChannel } from "@parley/contract/frames";
import { CLOSE_CODES, PRESENCE_HEARTBEAT_MS, WS_FRAME_MAX_BYTES } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import { readMarks } from "@parley/kit/marks";
import { isRevokedBy, REVOKED_CHANNEL, Revocations } from "@parley/kit/revocation";
import { observe } from "@parley/kit/observe";
import { Elysia } from "elysia";
import type { Config } from "./config.ts";
import { frontend, isPageRequest } from "./edge/frontend.ts";
import { securityHeaders } from "./edge/headers.ts";
import { apiProxy } from "./edge/proxy.ts";
import { ApiTokens } from "./fanout/api-tokens.ts";
import { LocalUsers } from "./fanout/local-users.ts";
import { Openings } from "./fanout/openings.ts";
import { BACKPRESSURE } from "./fanout/session.ts";
import { ChannelSubscriptions } from "./fanout/subscriptions.ts";
import { liveness, opsApp } from "./health/index.ts";
import { jsonError } from "./libs/errors.ts";
import type { RealtimeMetrics } from "./libs/metrics.ts";
import type { RedisPair } from "./libs/redis.ts";
import { PresenceRegistry } from "./presence/registry.ts";
import { socketRoutes } from "./socket/index.ts";

export type AppDeps = { config: Config; log: Logger; metrics: RealtimeMetrics; redis: RedisPair };

export async function buildRealtime({ config, log, metrics, redis }: AppDeps) {
  let shuttingDown = false;
  let membershipRepair: ReturnType<typeof setInterval> | undefined;
  const isShuttingDown = () => shuttingDown;

  const subscriptions = new ChannelSubscriptions(redis.subscriber, log);
  const presence = new PresenceRegistry(redis.commands, config.replicaId, log);
  const tokens = new ApiTokens(config);
  // one server: events come routed to this replica's channel; a cluster: to each user's (kit/route)
  const routeChannel = redis.subscriber.sharded ? null : replicaChannel(config.replicaId);
  // sockets being opened (from the upgrade request to `ready`): contact lists wait for a quiet moment
  const openings = new Openings();
  const users = new LocalUsers({
    apiUrl: config.apiUrl,
    routeChannel,
    subscriptions,
    presence,
    metrics,
    tokens,
    // marks are kept on one server only (kit/marks); on a cluster `ready` says null
    marks: (userId) => (routeChannel ? readMarks(redis.commands, userId) : Promise.resolve(null)),
    openings,
    log,
  });
  redis.subscriber.onMessage((channel, message) => {
    if (channel !== REVOKED_CHANNEL) users.deliver(channel, message);
  });
  // Signed-out sessions: refused at the upgrade, and the sockets already open close with 4003
  // as soon as any api process announces the sign-out (within a Redis round trip).
  const revocations = new Revocations(redis.commands, { log });
  revocations.follow(redis.subscriber, (userId) => {
    if (!users.has(userId)) return;
    void revocations.record(userId).then((record) => {
      if (!record) return;
      for (const s of [...users.sessionsOf(userId)])
        if (isRevokedBy(record, { userId, sid: s.sid, startedAt: s.startedAt }))
          s.close(CLOSE_CODES.signedOut, "signed out");
    });
  });
  // After a Redis outage, events and presence changes published while the subscriber was down
  // are lost. Once its channels are followed again, close the sockets that may have missed
  // something with 1012: clients reconnect with jitter, get a fresh `ready`, catch up over REST
  // and get a fresh presence snapshot. One server: every socket; a cluster: the sockets of the
  // users whose channels live on the shard that came back, and a fresh presence snapshot for
  // the watchers of its presence channels.
  redis.subscriber.onResync((lost) => {
    if (shuttingDown) return;
    const closed = lost === "all" ? users.closeAll(CLOSE_CODES.serviceRestart, "resync") : users.resync(lost);
    log.warn({ sockets: closed, channels: lost === "all" ? "all" : lost.length }, "Redis subscriber back: resync");
  });

  const site = await frontend(config.staticDir);
  const ops = opsApp({ redis, metrics, shuttingDown: isShuttingDown });

  const app = new Elysia({
    websocket: {
      maxPayloadLength: WS_FRAME_MAX_BYTES,
      idleTimeout: 60,
      // no compression: frames mix a user's data with text others choose (typing, messages), the
      // shape CRIME-style attacks read secrets from (OWASP WebSocket Cheat Sheet)
      perMessageDeflate: false,
      backpressureLimit: BACKPRESSURE.bunLimit,
      closeOnBackpressureLimit: true,
      sendPings: true,
    },
  })
    .use(observe(log, metrics))
    .use(securityHeaders)
    .onError(({ code, error, request, set }) => {
      if (code === "NOT_FOUND") {
        if (isPageRequest(request)) {
          // a page path the client routes itself: the app shell, as a success
          set.status = 200;
          return site.fallback();
        }
        return jsonError(404, "not_found", "no such path");
      }
      if (code === "VALIDATION" || code === "PARSE")
        return jsonError(422, "validation_failed", "the request is not valid");
      log.error(
        { path: new URL(request.url).pathname, err: error instanceof Error ? error.message : String(error) },
        "unhandled error",
      );
      return jsonError(500, "unavailable", "something went wrong; try again");
    })
    .use(liveness)
    .use(
      socketRoutes({
        config,
        users,
        openings,
        commands: redis.commands,
        revocations,
        metrics,
        log,
        shuttingDown: isShuttingDown,
      }),
    )
    .use(apiProxy(config.apiUrl, log, metrics))
    .use(site.plugin);

  return {
    app,
    /** /healthz, /readyz and /metrics, for OPS_PORT */
    ops,
    start() {
      presence.start(
        () => users.ids(),
        (lost) => {
          const closed = users.entriesLost(lost);
          if (closed > 0) log.warn({ sockets: closed }, "presence entries swept while stalled: resync");
        },
      );
      membershipRepair = setInterval(() => users.repairMemberships(), PRESENCE_HEARTBEAT_MS);
    },
    /** SIGTERM: refuse new sockets, close ours with 1012, clear our presence, close Redis. */
    async shutdown() {
      shuttingDown = true;
      clearInterval(membershipRepair);
      const userIds = users.stop();
      const closed = users.closeAll(CLOSE_CODES.serviceRestart, "service restart");
      log.info({ sockets: closed }, "closed sockets for restart");
      await presence.stop(userIds);
      // let the close frames reach the clients before the server goes away
      await Bun.sleep(200);
      if (app.server) await app.stop(true).catch(() => undefined);
      if (ops.server) await ops.stop(true).catch(() => undefined);
      await Promise.allSettled([redis.subscriber.close(), redis.commands.quit()]);
    },
  };
}
export type Realtime = Awaited<ReturnType<typeof buildRealtime>>;
