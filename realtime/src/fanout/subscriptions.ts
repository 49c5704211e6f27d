/**
 * Reference-counted Redis channel subscriptions: a replica follows a channel only while one of
 * its own users needs it, so its Redis work grows with its own users, not with the system. On a
 * Redis Cluster each channel is followed on its own shard (kit/pubsub, SSUBSCRIBE).
 *
 * Batched: what is asked within one turn of the event loop goes out as one SUBSCRIBE (or
 * UNSUBSCRIBE) naming every channel, in the order asked, so a burst of sockets opening (a
 * replica's users reconnecting at once) costs Redis a few commands, not two per user.
 */
import type { Logger } from "@parley/kit/log";
import type { ChannelSubscriber } from "@parley/kit/pubsub";
import { TurnBatches } from "../libs/turn-batches.ts";

/** Most channels named by one command. */
export const SUBSCRIBE_BATCH_MAX = 500;

export class ChannelSubscriptions {
  private readonly counts = new Map<string, number>();
  /** SUBSCRIBE and UNSUBSCRIBE not sent yet, in the order they were asked */
  private readonly commands: TurnBatches<"subscribe" | "unsubscribe", string>;

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly log: Logger,
    private readonly onCountChange: (channels: number) => void,
  ) {
    this.commands = new TurnBatches((kind, channels) => {
      const sent =
        kind === "subscribe" ? this.subscriber.subscribeMany(channels) : this.subscriber.unsubscribeMany(channels);
      return sent.catch((err: Error) =>
        this.log.warn({ channels: channels.length, err: err.message }, `${kind} failed`),
      );
    }, SUBSCRIBE_BATCH_MAX);
  }

  /** Follows `channel` (SUBSCRIBE or SSUBSCRIBE on first use). Resolves once Redis confirmed, or failed. */
  acquire(channel: string): Promise<void> {
    const n = (this.counts.get(channel) ?? 0) + 1;
    this.counts.set(channel, n);
    if (n > 1) return Promise.resolve();
    this.onCountChange(this.counts.size);
    return this.commands.add("subscribe", channel);
  }

  /** Stops following `channel` once its last user is gone. */
  release(channel: string): void {
    const n = (this.counts.get(channel) ?? 0) - 1;
    if (n > 0) {
      this.counts.set(channel, n);
      return;
    }
    if (!this.counts.delete(channel)) return;
    this.onCountChange(this.counts.size);
    void this.commands.add("unsubscribe", channel);
  }

  get size(): number {
    return this.counts.size;
  }

  has(channel: string): boolean {
    return this.counts.has(channel);
  }
}
