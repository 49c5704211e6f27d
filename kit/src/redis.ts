/**
 * Redis connections that heal by themselves, to one Redis (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). ioredis keeps reconnecting with a capped backoff.
 * By default commands issued while Redis is down wait in the offline queue: they run once the
 * connection is back, or are rejected when a reconnection attempt fails (maxRetriesPerRequest
 * 1, i.e. after seconds, not at once; the realtime subscriber sets no such limit). A caller
 * that must not wait passes `{ enableOfflineQueue: false }`: its commands are then rejected at
 * once while Redis is not ready (the api does this). `redisReady` is how every service's
 * /readyz judges its Redis connections.
 *
 * On a cluster every command must keep to the keys of one slot: multi-key work goes through
 * kit/pipeline (one pipeline per node) and pub/sub through kit/pubsub (sharded channels).
 */
import "./tracing-channel.ts";
import Redis, { Cluster, type RedisOptions } from "ioredis";
import type { RedisNode } from "./config.ts";
import type { Logger } from "./log.ts";

export type { RedisNode };
/** Where Redis is: one server by URL, or the seed nodes of a cluster. */
export type RedisTarget = { url: string } | { cluster: RedisNode[] };
/** A connection for commands: one server or a whole cluster (both speak the same commands). */
export type RedisClient = Redis | Cluster;

/** The target a service's config names: the cluster when REDIS_CLUSTER_NODES is set, else REDIS_URL. */
export function redisTarget(config: { redisUrl: string; redisClusterNodes: RedisNode[] }): RedisTarget {
  return config.redisClusterNodes.length > 0 ? { cluster: config.redisClusterNodes } : { url: config.redisUrl };
}

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;

const BASE: RedisOptions = {
  lazyConnect: false,
  enableOfflineQueue: true,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
  retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
};

function watch(client: RedisClient, log: Logger, name: string): void {
  let wasReady = false;
  client.on("ready", () => {
    log.info({ redis: name, reconnect: wasReady }, "redis ready");
    wasReady = true;
  });
  client.on("error", (err: Error) => log.warn({ redis: name, err: err.message }, "redis error"));
  client.on("end", () => log.warn({ redis: name }, "redis connection ended"));
}

/** One server: `target` is its URL (or `{ url }`). */
export function connectRedis(target: string | { url: string }, log: Logger, name: string, extra?: RedisOptions): Redis;
/** One server or a cluster, as the target says. */
export function connectRedis(target: RedisTarget, log: Logger, name: string, extra?: RedisOptions): RedisClient;
export function connectRedis(
  target: string | RedisTarget,
  log: Logger,
  name: string,
  extra: RedisOptions = {},
): RedisClient {
  const t: RedisTarget = typeof target === "string" ? { url: target } : target;
  if ("url" in t) {
    const redis = new Redis(t.url, { connectionName: name, ...BASE, ...extra });
    watch(redis, log, name);
    return redis;
  }
  const { enableOfflineQueue = true, ...nodeOptions } = extra;
  const cluster = new Cluster(t.cluster, {
    enableOfflineQueue,
    // a master that is away (restarting, failing over) is asked again rather than given up on:
    // its connection reconnects like a single server's, and the slot map is read again
    clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    clusterNodeRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    slotsRefreshInterval: 2000,
    redisOptions: { connectionName: name, ...BASE, ...nodeOptions },
  });
  watch(cluster, log, name);
  return cluster;
}

const TIMEOUT = Symbol("timeout");

/**
 * A cluster answers when one of its masters that is connected does: a master away (restarting)
 * makes its own users wait, and must not take every process of the service out of rotation.
 */
export async function pingAnyMaster(cluster: Cluster): Promise<unknown> {
  const masters = cluster.nodes("master");
  if (masters.length === 0) return cluster.ping();
  // node connections open on first use: with none open yet, asking each opens them
  const up = masters.filter((n) => n.status === "ready");
  return Promise.any((up.length > 0 ? up : masters).map((n) => n.ping()));
}

/** What readiness asks of a connection (a single server or a cluster). */
export type Pingable = { status: string; ping(): Promise<unknown> };

/**
 * Connected and answering a PING within a second, for each connection given. A subscribed
 * connection answers PING too (with ["pong", ""] instead of "PONG"), so any reply counts. A
 * cluster answers when one of its connected masters does (pingAnyMaster).
 */
export async function redisReady(...connections: Pingable[]): Promise<boolean> {
  const answers = async (redis: Pingable) => {
    if (redis.status !== "ready") return false;
    try {
      const timeout = Bun.sleep(1000).then(() => TIMEOUT);
      const ping = redis instanceof Cluster ? pingAnyMaster(redis) : redis.ping();
      return (await Promise.race([ping, timeout])) !== TIMEOUT;
    } catch {
      return false;
    }
  };
  return (await Promise.all(connections.map(answers))).every(Boolean);
}
