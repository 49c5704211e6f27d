/** The api's one Redis connection (publishing, rate limits, presence reads). */
import type Redis from "ioredis";
import { connectRedis } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";

export type { Redis };

/**
 * No offline queue: while Redis is down every command is rejected at once, so rate limits
 * fail open and presence reads say "offline" without holding the request. Readiness is
 * kit's redisReady, and ioredis keeps reconnecting in the background.
 */
export function openRedis(url: string, log: Logger): Redis {
  return connectRedis(url, log, "api", { enableOfflineQueue: false });
}
