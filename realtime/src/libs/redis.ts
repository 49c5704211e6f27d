/**
 * Realtime's two Redis connections: one dedicated to SUBSCRIBE (a subscribed connection can
 * run nothing else) and one for commands (presence, publishing typing/presence).
 */
import type Redis from "ioredis";
import { connectRedis } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "./metrics.ts";

export type RedisPair = { commands: Redis; subscriber: Redis };

export function connectRedisPair(url: string, log: Logger, metrics: RealtimeMetrics, replicaId: string): RedisPair {
  const commands = connectRedis(url, log, `realtime:${replicaId}:commands`);
  // The subscriber keeps SUBSCRIBE/UNSUBSCRIBE issued during an outage (no per-request retry
  // limit) and ioredis re-subscribes every channel it held once the connection is back.
  const subscriber = connectRedis(url, log, `realtime:${replicaId}:subscriber`, {
    autoResubscribe: true,
    maxRetriesPerRequest: null,
  });
  countReconnects(commands, "commands", metrics);
  countReconnects(subscriber, "subscriber", metrics);
  return { commands, subscriber };
}

function countReconnects(redis: Redis, name: string, metrics: RealtimeMetrics) {
  let seenReady = false;
  redis.on("ready", () => {
    if (seenReady) metrics.redisReconnects.inc({ connection: name });
    seenReady = true;
  });
}
