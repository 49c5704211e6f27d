/**
 * Pipelines that hold on a Redis Cluster too. A cluster pipeline may only hold keys of one
 * node, so `SlotPipeline` remembers each command with the key (or shard channel) it touches and,
 * on a cluster, sends one pipeline per node at once; the replies come back in the order the
 * commands were added, as from one pipeline. On a single server it is one plain pipeline.
 *
 * Each command added must touch one slot (one key, or keys sharing a `{hash tag}`).
 */
import type { ChainableCommander } from "ioredis";
import { isCluster, type RedisClient } from "./redis.ts";
import { slotOf } from "./slots.ts";

/** One reply: the error, or the value (ioredis' pipeline shape). */
export type Reply = [Error | null, unknown];

type Queued = { key: string; add: (p: ChainableCommander) => unknown };

export class SlotPipeline {
  private readonly queued: Queued[] = [];

  constructor(private readonly client: RedisClient) {}

  /** Adds one command (exactly one) touching `key`'s slot. */
  add(key: string, command: (p: ChainableCommander) => unknown): this {
    this.queued.push({ key, add: command });
    return this;
  }

  zcount(key: string, min: number | string, max: number | string): this {
    return this.add(key, (p) => p.zcount(key, min, max));
  }

  /** PUBLISH on one server, SPUBLISH (the channel's own shard) on a cluster. */
  publish(channel: string, message: string): this {
    const sharded = isCluster(this.client);
    return this.add(channel, (p) => (sharded ? p.spublish(channel, message) : p.publish(channel, message)));
  }

  get length(): number {
    return this.queued.length;
  }

  /**
   * Sends everything. A single server's failure rejects as a pipeline does; on a cluster a node
   * that fails gives its commands an error each, and the other nodes' replies still count.
   */
  async exec(): Promise<Reply[]> {
    const { client, queued } = this;
    if (queued.length === 0) return [];
    if (!isCluster(client)) {
      const pipe = client.pipeline();
      for (const q of queued) q.add(pipe);
      return ((await pipe.exec()) ?? []) as Reply[];
    }
    const byNode = new Map<string, number[]>();
    queued.forEach((q, i) => {
      const slot = slotOf(q.key);
      // before the slot map is known, one pipeline per slot (ioredis waits for the map)
      const node = client.slots[slot]?.[0] ?? `slot:${slot}`;
      const group = byNode.get(node);
      if (group) group.push(i);
      else byNode.set(node, [i]);
    });
    const replies: Reply[] = new Array(queued.length);
    await Promise.all(
      [...byNode.values()].map(async (indexes) => {
        const pipe = client.pipeline();
        for (const i of indexes) queued[i]!.add(pipe);
        try {
          const res = ((await pipe.exec()) ?? []) as Reply[];
          indexes.forEach((i, j) => {
            replies[i] = res[j] ?? [new Error("no reply from the pipeline"), null];
          });
        } catch (err) {
          for (const i of indexes) replies[i] = [err as Error, null];
        }
      }),
    );
    return replies;
  }
}

/** Something with `pipeline()` whose pipelines hold on a cluster (for contract's readOnline). */
export const slotPipelines = (client: RedisClient) => ({ pipeline: () => new SlotPipeline(client) });
