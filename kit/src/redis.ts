/**
 * Redis connections that fail fast and heal by themselves: commands issued while Redis is down
 * are rejected at once (no unbounded offline queue), and ioredis keeps reconnecting with a
 * capped backoff. `redisReady` is what /readyz reports.
 */
import Redis, { type RedisOptions } from "ioredis";
import type { Logger } from "./log.ts";

export function connectRedis(url: string, log: Logger, name: string, extra: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...extra,
  });
  let wasReady = false;
  redis.on("ready", () => {
    log.info({ redis: name, reconnect: wasReady }, "redis ready");
    wasReady = true;
  });
  redis.on("error", (err) => log.warn({ redis: name, err: err.message }, "redis error"));
  redis.on("end", () => log.warn({ redis: name }, "redis connection ended"));
  return redis;
}

export const redisReady = (redis: Redis) => redis.status === "ready";
