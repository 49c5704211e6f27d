/**
 * Realtime's two Redis connections: one dedicated to subscribing (a subscribed connection can
 * run nothing else; on a Redis Cluster one per master, kit/pubsub) and one for commands
 * (presence, publishing typing/presence).
 */
import type { Logger } from "@parley/kit/log";
import { type ChannelSubscriber, openSubscriber } from "@parley/kit/pubsub";
import { connectRedis, type RedisClient, type RedisTarget } from "@parley/kit/redis";
import type { RealtimeMetrics } from "./metrics.ts";

export type RedisPair = { commands: RedisClient; subscriber: ChannelSubscriber };

export function connectRedisPair(
  target: string | RedisTarget,
  log: Logger,
  metrics: RealtimeMetrics,
  replicaId: string,
): RedisPair {
  const t = typeof target === "string" ? { url: target } : target;
  const commands = connectRedis(t, log, `realtime:${replicaId}:commands`);
  // The subscriber keeps SUBSCRIBE/UNSUBSCRIBE issued during an outage (no per-request retry
  // limit) and follows every channel it held again once the connection is back.
  const subscriber = openSubscriber(t, log, `realtime:${replicaId}:subscriber`, { maxRetriesPerRequest: null });
  let seenReady = false;
  commands.on("ready", () => {
    if (seenReady) metrics.redisReconnects.inc({ connection: "commands" });
    seenReady = true;
  });
  subscriber.onResync(() => metrics.redisReconnects.inc({ connection: "subscriber" }));
  return { commands, subscriber };
}
