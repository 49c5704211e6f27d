/**
 * Redis channel subscriptions: a replica follows a channel only while one of its own users needs
 * it, so its Redis work grows with its own users, not with the system. On a Redis Cluster each
 * channel is followed on its own shard (kit/pubsub, SSUBSCRIBE).
 *
 * Which channels are followed is known once, by the caller: LocalUsers acquires a user's channel
 * when their first socket here opens and releases it when their last one closes, and a contact's
 * presence channel likewise with their first and last watcher here. A second record of it here
 * (a map of channel → count, two entries per user) cost ~220 bytes of table per connected user
 * at 3,000 (a JSC Map takes 40 bytes a slot; heap snapshot, bench/README.md "idle socket memory").
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
  /** SUBSCRIBE and UNSUBSCRIBE not sent yet, in the order they were asked */
  private readonly commands: TurnBatches<"subscribe" | "unsubscribe", string>;

  constructor(
    private readonly subscriber: ChannelSubscriber,
    private readonly log: Logger,
  ) {
    this.commands = new TurnBatches((kind, channels) => {
      const sent =
        kind === "subscribe" ? this.subscriber.subscribeMany(channels) : this.subscriber.unsubscribeMany(channels);
      return sent.catch((err: Error) =>
        this.log.warn({ channels: channels.length, err: err.message }, `${kind} failed`),
      );
    }, SUBSCRIBE_BATCH_MAX);
  }

  /** Follows `channel` (SUBSCRIBE, or SSUBSCRIBE on a cluster). Resolves once Redis confirmed, or failed. */
  acquire(channel: string): Promise<void> {
    return this.commands.add("subscribe", channel);
  }

  /** Stops following `channel`. */
  release(channel: string): void {
    void this.commands.add("unsubscribe", channel);
  }
}
