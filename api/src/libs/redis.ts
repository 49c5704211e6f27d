/** The api's one Redis connection for commands (publishing, rate limits, presence reads). */
import { connectRedis, type RedisClient, type RedisTarget } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";

/** One server or a cluster (REDIS_CLUSTER_NODES): kit/pipeline and kit/pubsub work on both. */
export type Redis = RedisClient;

/**
 * No offline queue: while Redis is down every command is rejected at once, so rate limits
 * fail open and presence reads say "offline" without holding the request. Readiness is
 * kit's redisReady, and ioredis keeps reconnecting in the background.
 */
export function openRedis(target: string | RedisTarget, log: Logger): Redis {
  return connectRedis(typeof target === "string" ? { url: target } : target, log, "api", {
    enableOfflineQueue: false,
  });
}
