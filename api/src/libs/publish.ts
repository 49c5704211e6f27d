/**
 * Fan-out: every committed change is published to Redis AFTER the database write, once per
 * recipient on their user channel, as a FanoutEvent (encoded once), in one pipeline per event.
 *
 * A Redis outage never fails the write. Events Redis did not confirm are kept and published
 * again, in order, as soon as it answers (`Republisher`), so a committed message reaches open
 * clients without anyone having to retry or reconnect. What this process cannot keep (it dies,
 * or the backlog outgrows MAX_UNCONFIRMED) is repaired by the other layers of guarantee 1 (see
 * docs/architecture.md): a retried send publishes again, a message found unpublished is published
 * when read, and clients reconcile with the api.
 */
import { encodeFanoutEvent, userChannel, type ServerFrame } from "@parley/contract/frames";
import type { Logger } from "@parley/kit/log";
import type { ApiMetrics } from "./metrics.ts";
import type { Redis } from "./redis.ts";

/**
 * Other commands for the same round trip (the send path raises its rate counter here). They
 * run before the publishes; `onResults` gets their answers, or is not called if Redis failed.
 * They are not retried: only events are.
 */
export type AlsoInPipeline = { commands: [string, ...(string | number)[]][]; onResults(values: unknown[]): void };

export type Publisher = {
  /** the same frame to every recipient (encoded once) */
  toUsers(userIds: string[], frame: ServerFrame, committedAt?: number, also?: AlsoInPipeline): Promise<void>;
  /** a different frame per recipient (e.g. each member's own view of a conversation) */
  each(frames: { userId: string; frame: ServerFrame }[], committedAt?: number): Promise<void>;
  /** events not yet confirmed by Redis (waiting to be published again) */
  unconfirmed(): number;
  /** one last attempt at what is waiting (graceful stop); resolves when it answered or failed */
  flush(): Promise<void>;
  stop(): void;
};

type Event = { type: ServerFrame["type"]; channel: string; payload: string };

/** Most unconfirmed events kept per process (the oldest go first beyond it; clients reconcile). */
const MAX_UNCONFIRMED = 50_000;
/** Events per retry pipeline. */
const RETRY_BATCH = 500;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export function createPublisher(redis: Redis, log: Logger, metrics: ApiMetrics): Publisher {
  const republisher = new Republisher(redis, log, metrics);
  const send = async (events: Event[], also?: AlsoInPipeline) => {
    if (events.length === 0 && !also) return;
    // while older events wait, newer ones queue behind them: members get each conversation's
    // events in order once Redis is back
    if (republisher.unconfirmed() > 0 || redis.status !== "ready") {
      republisher.keep(events, "redis not ready");
      return;
    }
    try {
      const pipe = redis.pipeline();
      for (const [command, ...args] of also?.commands ?? []) pipe.call(command, ...args);
      for (const e of events) pipe.publish(e.channel, e.payload);
      const results = (await pipe.exec()) ?? [];
      const extra = also?.commands.length ?? 0;
      if (also) also.onResults(results.slice(0, extra).map(([, value]) => value));
      const failed = events.filter((_, i) => results[extra + i]?.[0]);
      if (failed.length > 0) republisher.keep(failed, `${failed.length} of ${events.length} publishes failed`);
    } catch (err) {
      republisher.keep(events, (err as Error).message);
    }
  };
  const event = (type: ServerFrame["type"], userId: string, payload: string): Event => ({
    type,
    channel: userChannel(userId),
    payload,
  });
  return {
    toUsers: (userIds, frame, committedAt = Date.now(), also) => {
      const payload = encodeFanoutEvent(frame, committedAt);
      return send(
        userIds.map((userId) => event(frame.type, userId, payload)),
        also,
      );
    },
    each: (frames, committedAt = Date.now()) =>
      send(frames.map(({ userId, frame }) => event(frame.type, userId, encodeFanoutEvent(frame, committedAt)))),
    unconfirmed: () => republisher.unconfirmed(),
    flush: () => republisher.retry(),
    stop: () => republisher.stop(),
  };
}

/** Events Redis did not confirm, published again in order until it does. */
class Republisher {
  private readonly queue: Event[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delay = RETRY_MIN_MS;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly metrics: ApiMetrics,
  ) {
    // Redis is back: do not wait for the timer
    redis.on("ready", () => void this.retry());
  }

  unconfirmed(): number {
    return this.queue.length;
  }

  keep(events: Event[], why: string): void {
    if (events.length === 0) return;
    for (const e of events) this.metrics.publishFailures.inc({ type: e.type });
    if (this.queue.length === 0)
      this.log.warn({ events: events.length, err: why }, "fan-out not confirmed by Redis; kept to publish again");
    this.queue.push(...events);
    const excess = this.queue.length - MAX_UNCONFIRMED;
    if (excess > 0) {
      this.queue.splice(0, excess);
      this.log.error(
        { dropped: excess },
        "too many unconfirmed fan-out events: the oldest dropped (clients reconcile with the api)",
      );
    }
    this.metrics.publishUnconfirmed.set(this.queue.length);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.delay);
  }

  /** Publishes what waits, oldest first, a batch at a time, until Redis fails or nothing is left. */
  retry(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      if (this.redis.status !== "ready") break;
      const batch = this.queue.slice(0, RETRY_BATCH);
      try {
        const pipe = this.redis.pipeline();
        for (const e of batch) pipe.publish(e.channel, e.payload);
        const results = (await pipe.exec()) ?? [];
        // in order: confirmed up to the first failure, which is tried again later
        const confirmed = results.findIndex(([err]) => err);
        const n = confirmed === -1 ? batch.length : confirmed;
        this.queue.splice(0, n);
        this.metrics.publishUnconfirmed.set(this.queue.length);
        if (n < batch.length) break;
        this.delay = RETRY_MIN_MS;
        if (this.queue.length === 0) this.log.info("fan-out backlog published");
      } catch {
        break;
      }
    }
    if (this.queue.length > 0) {
      this.delay = Math.min(RETRY_MAX_MS, this.delay * 2);
      this.schedule();
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.queue.length > 0)
      this.log.warn(
        { events: this.queue.length },
        "stopping with unconfirmed fan-out events (clients reconcile with the api)",
      );
  }
}
