/**
 * Builds the api from its modules and the dependencies it is given, so the entry point and
 * the tests build exactly the same app. `openDeps` connects everything a real process needs.
 */
import { Elysia } from "elysia";
import { createLogger, type Logger } from "@parley/kit/log";
import { observe } from "@parley/kit/observe";
import type { Config } from "./config.ts";
import { connectDb } from "./libs/db.ts";
import type { Deps } from "./libs/deps.ts";
import { errors, type Route } from "./libs/errors.ts";
import { apiMetrics } from "./libs/metrics.ts";
import { createPublisher } from "./libs/publish.ts";
import { createRateLimiter } from "./libs/ratelimit.ts";
import { openRedis } from "./libs/redis.ts";
import { openSubscriber } from "@parley/kit/pubsub";
import { redisTarget } from "@parley/kit/redis";
import { bodyLimit } from "./plugins/body.ts";
import { apiDocs } from "./libs/openapi.ts";
import { authRoutes } from "./modules/auth/index.ts";
import { changeRoutes } from "./modules/changes/index.ts";
import { groupRoutes } from "./modules/groups/index.ts";
import { conversationRoutes } from "./modules/conversations/index.ts";
import { healthRoutes } from "./modules/health/index.ts";
import { messageRoutes } from "./modules/messages/index.ts";
import { userRoutes } from "./modules/users/index.ts";
import { ConversationCache } from "./modules/conversations/cache.ts";
import { Bookkeeper } from "./modules/messages/bookkeeping.ts";
import { Sequencer } from "./modules/messages/sequencer.ts";
import { changeSeries, messageSeries } from "./modules/messages/blocks.ts";
import { SendRate } from "./libs/send-rate.ts";
import { Passwords } from "./libs/passwords.ts";
import { KnownUsers } from "./libs/known-users.ts";
import { readAdmission } from "./plugins/read-admission.ts";
import { Revocations } from "@parley/kit/revocation";

export function openDeps(
  config: Config,
  log: Logger = createLogger("api", config.logLevel),
): Deps & { close(): Promise<void> } {
  const metrics = apiMetrics();
  const db = connectDb(config.mongoUrl, log);
  const redis = openRedis(redisTarget(config), log);
  // a connection of its own (one per master on a cluster): a subscribed connection can do nothing else
  const subscriber = openSubscriber(redisTarget(config), log, "api-subscriber");
  // every change reaches the cache (cache.ts): the TTL is only the last backstop
  const conversations = new ConversationCache(db, { ttlMs: 5 * 60_000, maxEntries: 50_000, publisher: redis, log });
  conversations.follow(subscriber);
  const sequencer = new Sequencer({ series: messageSeries(db), metrics, log });
  const changes = new Sequencer({ series: changeSeries(db), metrics, log });
  const publisher = createPublisher(redis, log, metrics);
  const bookkeeper = new Bookkeeper({
    db,
    log,
    shared: (id) => sequencer.shared(id) || changes.shared(id),
    written: (id, marks) => conversations.written(id, marks),
  });
  const revocations = new Revocations(redis, {
    log,
    tokenTtlSeconds: config.jwtTtlSeconds,
    onUnavailable: () => metrics.sessionCheckErrors.inc(),
  });
  revocations.follow(subscriber);
  return {
    config,
    log,
    metrics,
    db,
    redis,
    publisher,
    limiter: createRateLimiter(redis, log, metrics),
    conversations,
    sequencer,
    changes,
    bookkeeper,
    sendRate: new SendRate(config.sendRateMax, config.sendRateWindowSeconds * 1000),
    passwords: new Passwords(config.passwordHashConcurrency),
    revocations,
    knownUsers: new KnownUsers(db),
    async close() {
      await publisher.flush();
      publisher.stop();
      await bookkeeper.settle();
      await db.close();
      await Promise.all([redis.quit().catch(() => redis.disconnect()), subscriber.close()]);
    },
  };
}

export function buildApp(deps: Deps) {
  const app = new Elysia({ serve: { reusePort: false } })
    .use(observe(deps.log, deps.metrics))
    // after observe: a read's measured time includes its wait for a turn
    .use(readAdmission(deps.config.dbReadsAtOnce, deps.metrics))
    // every answer is one person's data (and some carry a session token): never stored by a cache
    .onRequest(({ set }) => {
      set.headers["cache-control"] = "no-store";
    })
    // the routes, for a 405 that names the methods a path has (read when a request comes)
    .use(errors(deps.log, (): Route[] => app.routes))
    .use(bodyLimit)
    .use(apiDocs())
    .use(healthRoutes(deps))
    .use(authRoutes(deps))
    .use(userRoutes(deps))
    .use(conversationRoutes(deps))
    .use(groupRoutes(deps))
    .use(messageRoutes(deps))
    .use(changeRoutes(deps));
  return app;
}
export type App = ReturnType<typeof buildApp>;
