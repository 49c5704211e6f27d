/**
 * Pub/sub on one Redis or a Redis Cluster, the same way for every caller. On one server:
 * PUBLISH and SUBSCRIBE. On a cluster: sharded pub/sub (Redis 7 SPUBLISH and SSUBSCRIBE), so a
 * channel lives on the master serving its slot, per-user channels spread over the shards, and
 * each shard carries only its own slots' messages (classic PUBLISH on a cluster goes to every
 * node). Pipelines of publishes: kit/pipeline's SlotPipeline.publish.
 *
 * Pub/sub is at-most-once: a subscriber whose connection came back may have missed messages.
 * `onResync` says which channels (on one server: all of them, after its reconnect; on a
 * cluster: those of the shard whose connection came back, or that moved to another shard),
 * once they are followed again, so the caller can repair (realtime closes the affected sockets
 * so their clients catch up; caches forget).
 */
import type Redis from "ioredis";
import type { RedisOptions } from "ioredis";
import type { Logger } from "./log.ts";
import { connectRedis, isCluster, redisReady, type RedisClient, type RedisTarget } from "./redis.ts";
import { ShardedSubscriber } from "./sharded-subscriber.ts";

/** Channels that may have lost messages: every one, or these. */
export type Lost = "all" | readonly string[];

export interface ChannelSubscriber {
  /** true on a cluster (SSUBSCRIBE) */
  readonly sharded: boolean;
  /** the connection's state, as ioredis names it ("ready", "end"…) */
  readonly status: string;
  /** Follows `channel`; resolves once Redis confirmed it. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Follows all of `channels` (one command where the server allows); resolves once all are confirmed. */
  subscribeMany(channels: readonly string[]): Promise<void>;
  unsubscribeMany(channels: readonly string[]): Promise<void>;
  onMessage(listener: (channel: string, message: string) => void): void;
  /** Channels that may have missed messages, called once they are followed again. */
  onResync(listener: (lost: Lost) => void): void;
  ping(): Promise<unknown>;
  /** QUIT (graceful) */
  close(): Promise<void>;
  /** drops the connections at once (a stop that ran out of time) */
  disconnect(): void;
}

/** Publishes one message: PUBLISH on one server, SPUBLISH on a cluster. */
export function publish(client: RedisClient, channel: string, message: string): Promise<unknown> {
  return isCluster(client) ? client.spublish(channel, message) : client.publish(channel, message);
}

/** The publish command for Lua scripts (`redis.call(verb, channel, message)`): the channel
 * must then hash to the slot of the script's keys. */
export const publishVerb = (client: RedisClient): "PUBLISH" | "SPUBLISH" =>
  isCluster(client) ? "SPUBLISH" : "PUBLISH";

/** One server's subscriber connection (ioredis re-subscribes its channels after a reconnect). */
class ServerSubscriber implements ChannelSubscriber {
  readonly sharded = false;
  private wasReady: boolean;
  private readonly resyncListeners: ((lost: Lost) => void)[] = [];

  constructor(private readonly redis: Redis) {
    this.wasReady = redis.status === "ready";
    redis.on("ready", () => {
      if (this.wasReady) for (const l of this.resyncListeners) l("all");
      this.wasReady = true;
    });
  }

  get status(): string {
    return this.redis.status;
  }

  async subscribe(channel: string): Promise<void> {
    await this.redis.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.redis.unsubscribe(channel);
  }

  async subscribeMany(channels: readonly string[]): Promise<void> {
    if (channels.length > 0) await this.redis.subscribe(...channels);
  }

  async unsubscribeMany(channels: readonly string[]): Promise<void> {
    if (channels.length > 0) await this.redis.unsubscribe(...channels);
  }

  onMessage(listener: (channel: string, message: string) => void): void {
    this.redis.on("message", listener);
  }

  onResync(listener: (lost: Lost) => void): void {
    this.resyncListeners.push(listener);
  }

  ping(): Promise<unknown> {
    return this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  disconnect(): void {
    this.redis.disconnect();
  }
}

/** A subscriber over a connection of one server made elsewhere (tests make their own). */
export const subscriberOn = (redis: Redis): ChannelSubscriber => new ServerSubscriber(redis);

/** A subscriber of its own: one connection to one server, or one per master of a cluster. */
export function openSubscriber(
  target: string | RedisTarget,
  log: Logger,
  name: string,
  extra: RedisOptions = {},
): ChannelSubscriber {
  const t = typeof target === "string" ? { url: target } : target;
  if ("url" in t) return new ServerSubscriber(connectRedis(t, log, name, { autoResubscribe: true, ...extra }));
  return new ShardedSubscriber(t.cluster, log, name);
}

/** Readiness of a subscriber (kit/health's rule: connected and answering). */
export const subscriberReady = (subscriber: ChannelSubscriber) => redisReady(subscriber);
