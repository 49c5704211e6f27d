/**
 * Sharded pub/sub on a Redis Cluster: each channel is followed (SSUBSCRIBE) on the master that
 * serves its slot, over one subscriber connection per master. Only that master carries the
 * channel's messages, so a shard's pub/sub work grows with its own slots.
 *
 * The slot map comes from a Cluster client kept for that alone (refreshed every 2 s and on
 * MOVED). A channel whose slot moved to another master is followed there; a master whose
 * connection came back (it restarted, or the network broke) has its channels subscribed again.
 * Either way the channels may have missed messages, and `onResync` names them once they are
 * followed again. ioredis' own `shardedSubscribers` re-subscribes without telling anyone when,
 * which is why this exists.
 */
import type Redis from "ioredis";
import type { Cluster } from "ioredis";
import type { Logger } from "./log.ts";
import type { ChannelSubscriber, Lost } from "./pubsub.ts";
import { connectRedis, pingAnyMaster, type RedisNode } from "./redis.ts";
import { slotOf } from "./slots.ts";

/** SSUBSCRIBE answered with MOVED never settles in ioredis: bound every confirmation. */
const CONFIRM_MS = 5000;

function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${CONFIRM_MS} ms`)), CONFIRM_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

type Followed = {
  slot: number /** the master it is subscribed on; null until the slot map is known */;
  node: string | null;
};

export class ShardedSubscriber implements ChannelSubscriber {
  readonly sharded = true;
  private readonly topology: Cluster;
  private readonly connections = new Map<string, Redis>();
  private readonly followed = new Map<string, Followed>();
  private readonly messageListeners: ((channel: string, message: string) => void)[] = [];
  private readonly resyncListeners: ((lost: Lost) => void)[] = [];
  /** channels waiting for the slot map, settled when it comes */
  private readonly unplaced = new Map<string, { resolve(): void; reject(err: Error): void }[]>();
  private closed = false;

  constructor(
    seeds: RedisNode[],
    private readonly log: Logger,
    private readonly name: string,
  ) {
    this.topology = connectRedis({ cluster: seeds }, log, `${name}:slots`) as Cluster;
    this.topology.on("refresh", () => this.rebalance());
  }

  get status(): string {
    return this.closed ? "end" : this.topology.status;
  }

  async subscribe(channel: string): Promise<void> {
    if (this.closed) throw new Error("subscriber closed");
    const slot = slotOf(channel);
    const node = this.masterOf(slot);
    this.followed.set(channel, { slot, node });
    if (node) return this.follow(node, channel);
    // no slot map yet: placed at the next refresh
    return new Promise<void>((resolve, reject) => {
      const waiting = this.unplaced.get(channel) ?? [];
      waiting.push({ resolve, reject });
      this.unplaced.set(channel, waiting);
    });
  }

  async unsubscribe(channel: string): Promise<void> {
    const f = this.followed.get(channel);
    this.followed.delete(channel);
    for (const w of this.unplaced.get(channel) ?? []) w.resolve();
    this.unplaced.delete(channel);
    if (f?.node) await bounded(this.connection(f.node).sunsubscribe(channel), `SUNSUBSCRIBE ${channel}`);
  }

  /** One SSUBSCRIBE per channel: a command may only name channels of one slot. */
  async subscribeMany(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((c) => this.subscribe(c)));
  }

  async unsubscribeMany(channels: readonly string[]): Promise<void> {
    await Promise.all(channels.map((c) => this.unsubscribe(c)));
  }

  onMessage(listener: (channel: string, message: string) => void): void {
    this.messageListeners.push(listener);
  }

  onResync(listener: (lost: Lost) => void): void {
    this.resyncListeners.push(listener);
  }

  ping(): Promise<unknown> {
    return pingAnyMaster(this.topology);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [this.topology, ...this.connections.values()];
    await Promise.allSettled(all.map((c) => c.quit().catch(() => c.disconnect())));
  }

  disconnect(): void {
    this.closed = true;
    for (const c of [this.topology, ...this.connections.values()]) c.disconnect();
  }

  /** The channels each master serves (for tests and metrics). */
  placement(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [channel, f] of this.followed) if (f.node) out.set(f.node, [...(out.get(f.node) ?? []), channel]);
    return out;
  }

  private masterOf(slot: number): string | null {
    return this.topology.slots[slot]?.[0] ?? null;
  }

  private follow(node: string, channel: string): Promise<void> {
    return bounded(this.connection(node).ssubscribe(channel), `SSUBSCRIBE ${channel}`).then(() => undefined);
  }

  /** The subscriber connection to one master, made on first use. */
  private connection(node: string): Redis {
    let conn = this.connections.get(node);
    if (conn) return conn;
    const cut = node.lastIndexOf(":");
    conn = connectRedis(
      { url: `redis://${node.slice(0, cut)}:${node.slice(cut + 1)}` },
      this.log,
      `${this.name}@${node}`,
      // this class subscribes again itself, so it knows when the channels are back
      { autoResubscribe: false, maxRetriesPerRequest: null },
    );
    conn.on("smessage", (channel: string, message: string) => {
      for (const l of this.messageListeners) l(channel, message);
    });
    conn.on("moved", () => this.topology.refreshSlotsCache());
    let wasReady = false;
    conn.on("ready", () => {
      if (wasReady) void this.resubscribe(node);
      wasReady = true;
    });
    this.connections.set(node, conn);
    return conn;
  }

  /** A master's connection came back: its channels again, then tell who may have missed what. */
  private async resubscribe(node: string): Promise<void> {
    const channels = [...this.followed].filter(([, f]) => f.node === node).map(([c]) => c);
    if (channels.length === 0 || this.closed) return;
    await this.refollow(node, channels, "reconnected");
  }

  private async refollow(node: string, channels: string[], why: string): Promise<void> {
    const results = await Promise.allSettled(channels.map((c) => this.follow(node, c)));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) this.log.warn({ redis: this.name, node, failed }, "sharded subscribe failed again");
    this.log.info({ redis: this.name, node, channels: channels.length, why }, "shard channels followed again");
    for (const l of this.resyncListeners) l(channels);
  }

  /** The slot map was read: place channels that wait for it, move those whose slot moved. */
  private rebalance(): void {
    if (this.closed) return;
    const moved = new Map<string, string[]>();
    for (const [channel, f] of this.followed) {
      const owner = this.masterOf(f.slot);
      if (!owner || owner === f.node) continue;
      const from = f.node;
      f.node = owner;
      const waiting = this.unplaced.get(channel);
      if (waiting) {
        this.unplaced.delete(channel);
        this.follow(owner, channel).then(
          () => {
            for (const w of waiting) w.resolve();
          },
          (err: Error) => {
            for (const w of waiting) w.reject(err);
          },
        );
        continue;
      }
      if (from)
        void this.connection(from)
          .sunsubscribe(channel)
          .catch(() => undefined);
      moved.set(owner, [...(moved.get(owner) ?? []), channel]);
    }
    for (const [node, channels] of moved) void this.refollow(node, channels, "slot moved");
  }
}
