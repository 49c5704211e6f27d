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

/** Most channels named by one command. */
export const SUBSCRIBE_BATCH_MAX = 500;

type Batch = {
  kind: "subscribe" | "unsubscribe";
  channels: string[];
  done: ReturnType<typeof Promise.withResolvers<void>>;
};

export class ChannelSubscriptions {
  private readonly counts = new Map<string, number>();
  /** commands not sent yet, in the order they were asked */
  private readonly queue: Batch[] = [];
  private flushing = false;

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly log: Logger,
    private readonly onCountChange: (channels: number) => void,
  ) {}

  /** Follows `channel` (SUBSCRIBE or SSUBSCRIBE on first use). Resolves once Redis confirmed, or failed. */
  acquire(channel: string): Promise<void> {
    const n = (this.counts.get(channel) ?? 0) + 1;
    this.counts.set(channel, n);
    if (n > 1) return Promise.resolve();
    this.onCountChange(this.counts.size);
    return this.enqueue("subscribe", channel);
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
    void this.enqueue("unsubscribe", channel);
  }

  get size(): number {
    return this.counts.size;
  }

  has(channel: string): boolean {
    return this.counts.has(channel);
  }

  private enqueue(kind: Batch["kind"], channel: string): Promise<void> {
    let batch = this.queue.at(-1);
    if (!batch || batch.kind !== kind || batch.channels.length >= SUBSCRIBE_BATCH_MAX) {
      batch = { kind, channels: [], done: Promise.withResolvers<void>() };
      this.queue.push(batch);
    }
    batch.channels.push(channel);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
    return batch.done.promise;
  }

  /** Sends every queued command at once; one connection keeps them in order. */
  private flush(): void {
    this.flushing = false;
    for (const batch of this.queue.splice(0)) {
      const sent =
        batch.kind === "subscribe"
          ? this.subscriber.subscribeMany(batch.channels)
          : this.subscriber.unsubscribeMany(batch.channels);
      sent.then(
        () => batch.done.resolve(),
        (err: Error) => {
          this.log.warn({ channels: batch.channels.length, err: err.message }, `${batch.kind} failed`);
          batch.done.resolve();
        },
      );
    }
  }
}
