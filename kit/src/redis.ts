/**
 * Redis connections that heal by themselves: ioredis keeps reconnecting with a capped backoff.
 * By default commands issued while Redis is down wait in the offline queue: they run once the
 * connection is back, or are rejected when a reconnection attempt fails (maxRetriesPerRequest
 * 1, i.e. after seconds, not at once; the realtime subscriber sets no such limit). A caller
 * that must not wait passes `{ enableOfflineQueue: false }`: its commands are then rejected at
 * once while Redis is not ready (the api does this). `redisReady` is how every service's
 * /readyz judges its Redis connections.
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

const TIMEOUT = Symbol("timeout");

/**
 * Connected and answering a PING within a second, for each connection given. A subscribed
 * connection answers PING too (with ["pong", ""] instead of "PONG"), so any reply counts.
 */
export async function redisReady(...connections: Redis[]): Promise<boolean> {
  const answers = async (redis: Redis) => {
    if (redis.status !== "ready") return false;
    try {
      const timeout = Bun.sleep(1000).then(() => TIMEOUT);
      return (await Promise.race([redis.ping(), timeout])) !== TIMEOUT;
    } catch {
      return false;
    }
  };
  return (await Promise.all(connections.map(answers))).every(Boolean);
}
