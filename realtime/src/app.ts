/**
 * Builds realtime from its dependencies (config, logger, metrics, Redis connections), so the
 * entry point and the tests assemble the very same thing.
 */
import { Elysia } from "elysia";
import { CLOSE_CODES, PRESENCE_HEARTBEAT_MS, WS_FRAME_MAX_BYTES } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import { observe } from "@parley/kit/observe";
import { BACKPRESSURE, type Config } from "./config.ts";
import { apiProxy } from "./edge/proxy.ts";
import { frontend, isPageRequest } from "./edge/frontend.ts";
import { securityHeaders } from "./edge/headers.ts";
import { Hub } from "./fanout/hub.ts";
import { ChannelSubscriptions } from "./fanout/subscriptions.ts";
import { health } from "./health/index.ts";
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

  const subscriptions = new ChannelSubscriptions(redis.subscriber, log, (n) => metrics.subscribedChannels.set(n));
  const users: { ids: () => Iterable<string> } = { ids: () => [] };
  const presence = new PresenceRegistry(redis.commands, config.replicaId, log, () => users.ids());
  const hub = new Hub({ apiUrl: config.apiUrl, commands: redis.commands, subscriptions, presence, metrics, log });
  users.ids = () => hub.localUserIds();
  redis.subscriber.on("message", (channel: string, message: string) => hub.onRedisMessage(channel, message));
  // After a Redis outage, events and presence changes published while the subscriber was down
  // are lost. On a reconnect, close every local socket with 1012: clients reconnect with jitter,
  // get a fresh `ready`, catch up over REST and get a fresh presence snapshot.
  let subscriberWasReady = redis.subscriber.status === "ready";
  redis.subscriber.on("ready", () => {
    if (subscriberWasReady && !shuttingDown) {
      const open = hub.sessions();
      for (const s of open) s.close(CLOSE_CODES.serviceRestart, "resync");
      log.warn({ sockets: open.length }, "Redis subscriber reconnected: closed sockets to resync");
    }
    subscriberWasReady = true;
  });

  const site = await frontend(config.staticDir);

  const app = new Elysia({
    websocket: {
      maxPayloadLength: WS_FRAME_MAX_BYTES,
      idleTimeout: 60,
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
    .use(health({ redis, metrics, shuttingDown: isShuttingDown }))
    .use(socketRoutes({ config, hub, metrics, log, shuttingDown: isShuttingDown }))
    .use(apiProxy(config.apiUrl, log))
    .use(site.plugin);

  return {
    app,
    hub,
    presence,
    start() {
      presence.start();
      membershipRepair = setInterval(() => hub.repairMemberships(), PRESENCE_HEARTBEAT_MS);
    },
    /** SIGTERM: refuse new sockets, close ours with 1012, clear our presence, close Redis. */
    async shutdown() {
      shuttingDown = true;
      clearInterval(membershipRepair);
      hub.stopping = true;
      const userIds = [...hub.localUserIds()];
      const open = hub.sessions();
      for (const s of open) s.close(CLOSE_CODES.serviceRestart, "service restart");
      log.info({ sockets: open.length }, "closed sockets for restart");
      await presence.stop(userIds);
      // let the close frames reach the clients before the server goes away
      await Bun.sleep(200);
      if (app.server) await app.stop(true).catch(() => undefined);
      await Promise.allSettled([redis.subscriber.quit(), redis.commands.quit()]);
    },
  };
}
export type Realtime = Awaited<ReturnType<typeof buildRealtime>>;
