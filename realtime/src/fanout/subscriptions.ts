/**
 * Reference-counted Redis channel subscriptions: a replica follows a channel only while one of
 * its own users needs it, so its Redis work grows with its own users, not with the system. On a
 * Redis Cluster each channel is followed on its own shard (kit/pubsub, SSUBSCRIBE).
 */
import type { Logger } from "@parley/kit/log";
import type { ChannelSubscriber } from "@parley/kit/pubsub";

export class ChannelSubscriptions {
  private readonly counts = new Map<string, number>();

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
    return this.subscriber.subscribe(channel).then(
      () => undefined,
      (err: Error) => this.log.warn({ channel, err: err.message }, "subscribe failed"),
    );
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
    this.subscriber
      .unsubscribe(channel)
      .catch((err: Error) => this.log.warn({ channel, err: err.message }, "unsubscribe failed"));
  }

  get size(): number {
    return this.counts.size;
  }

  has(channel: string): boolean {
    return this.counts.has(channel);
  }
}
