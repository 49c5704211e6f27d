/**
 * Fan-out: every committed change is published to Redis AFTER the database write, as a
 * FanoutEvent (encoded once), routed by kit/route: on one server the recipients' routes are read
 * (one MGET, in the round trip that raises the sender's rate counter) and the event published
 * once per replica holding a recipient; on a Redis Cluster once per recipient on their user
 * channel, in one round trip. Events of one lane keep their order: each round trip's commands
 * go out in the order the events came, and one call's publishes are written before a later
 * call's (its routes were answered first, on the same connection).
 *
 * Every event carries a mark (kit/marks, contract/marks: this process's number for it, recorded
 * per recipient in the same round trip) on a single server, so a reconnecting client can tell
 * from `ready` whether it missed anything.
 *
 * A Redis outage never fails the write. Events Redis did not confirm are kept and published
 * again, in order, as soon as it answers (`Republisher`), so a committed message reaches open
 * clients without anyone having to retry or reconnect. Order is kept per lane: one lane on a
 * single server; on a Redis Cluster one per slot of the channel, so a shard that is away holds
 * back only the events of its own channels (SPUBLISH; kit/pipeline sends one pipeline per node). What this process cannot keep (it dies,
 * or the backlog outgrows MAX_UNCONFIRMED) is repaired by the other layers of guarantee 1 (see
 * docs/architecture.md): a retried send publishes again, a message found unpublished is published
 * when read, and clients reconcile with the api.
 */
import { encodeFanoutEvent, userChannel, type ServerFrame } from "@parley/contract/frames";
import type { Logger } from "@parley/kit/log";
import { Marker } from "@parley/kit/marks";
import { EventRouter } from "@parley/kit/route";
import { slotOf } from "@parley/kit/slots";
import type { ApiMetrics } from "./metrics.ts";
import type { Redis } from "./redis.ts";

/**
 * Other commands for the same round trip (the send path raises its rate counter here). Each
 * names its key first (on a cluster it goes to that key's node). They run before the publishes;
 * `onResults` gets their answers, or is not called if Redis failed. They are not retried: only
 * events are.
 */
export type AlsoInPipeline = {
  commands: [string, string, ...(string | number)[]][];
  onResults(values: unknown[]): void;
};

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

/** One event as routed (kit/route): all its recipients on one server, one recipient on a cluster (a lane per slot). */
type Event = { type: ServerFrame["type"]; userIds: string[]; payload: string; lane: number; mark?: number };

/** Most unconfirmed events kept per process (the oldest go first beyond it; clients reconcile). */
const MAX_UNCONFIRMED = 50_000;
/** Events per retry pipeline. */
const RETRY_BATCH = 500;
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

export function createPublisher(redis: Redis, log: Logger, metrics: ApiMetrics): Publisher {
  const marker = new Marker();
  const router = new EventRouter(redis, marker);
  const stopMarks = marker.keepAlive(redis);
  const republisher = new Republisher(redis, router, log, metrics);
  const send = async (events: Event[], also?: AlsoInPipeline) => {
    if (events.length === 0 && !also) return;
    if (redis.status !== "ready") {
      republisher.keep(events, "redis not ready");
      return;
    }
    // while older events of a lane wait, newer ones queue behind them: members get each
    // conversation's events in order once Redis (or that shard) is back
    const now: Event[] = [];
    const held: Event[] = [];
    for (const e of events) (republisher.waiting(e.lane) ? held : now).push(e);
    republisher.keep(held, "older events wait");
    // nothing goes now: neither do the other commands (as while Redis is away)
    if (now.length === 0 && held.length > 0) return;
    try {
      const { errors, first } = await router.publish(now, (pipe) => {
        for (const [command, key, ...args] of also?.commands ?? []) pipe.add(key, (p) => p.call(command, key, ...args));
      });
      if (also) also.onResults(first.map(([, value]) => value));
      const failed = now.filter((_, i) => errors[i]);
      if (failed.length > 0) republisher.keep(failed, `${failed.length} of ${now.length} publishes failed`);
    } catch (err) {
      republisher.keep(now, (err as Error).message);
    }
  };
  // one lane on a single server (its order is all events' order); per slot of the user's channel on a cluster
  // numbered (marked) here, in the order the events are sent, which is the order they go out in
  const events = (userIds: string[], frame: ServerFrame, committedAt: number): Event[] => {
    if (userIds.length === 0) return [];
    const { type } = frame;
    if (router.byReplica) {
      const { n, mark } = marker.next();
      return [
        { type, userIds, payload: encodeFanoutEvent({ ...frame, mark } as ServerFrame, committedAt), lane: 0, mark: n },
      ];
    }
    const payload = encodeFanoutEvent(frame, committedAt);
    return userIds.map((id) => ({ type, userIds: [id], payload, lane: slotOf(userChannel(id)) }));
  };
  return {
    toUsers: (userIds, frame, committedAt = Date.now(), also) => send(events(userIds, frame, committedAt), also),
    each: (frames, committedAt = Date.now()) =>
      send(frames.flatMap(({ userId, frame }) => events([userId], frame, committedAt))),
    unconfirmed: () => republisher.unconfirmed(),
    flush: () => republisher.retry(),
    stop: () => {
      stopMarks();
      republisher.stop();
    },
  };
}

/** Events Redis did not confirm, published again in order (per lane) until it does. */
class Republisher {
  /** lane → its events, oldest first */
  private readonly lanes = new Map<number, Event[]>();
  private count = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delay = RETRY_MIN_MS;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly router: EventRouter,
    private readonly log: Logger,
    private readonly metrics: ApiMetrics,
  ) {
    // Redis is back: do not wait for the timer (a shard of a cluster coming back has no such
    // event; the timer finds it within RETRY_MAX_MS)
    redis.on("ready", () => void this.retry());
  }

  unconfirmed(): number {
    return this.count;
  }

  /** Whether older events of this lane wait (a newer one must queue behind them). */
  waiting(lane: number): boolean {
    return this.lanes.has(lane);
  }

  keep(events: Event[], why: string): void {
    if (events.length === 0) return;
    for (const e of events) this.metrics.publishFailures.inc({ type: e.type });
    if (this.count === 0)
      this.log.warn({ events: events.length, err: why }, "fan-out not confirmed by Redis; kept to publish again");
    for (const e of events) {
      const lane = this.lanes.get(e.lane);
      if (lane) lane.push(e);
      else this.lanes.set(e.lane, [e]);
    }
    this.count += events.length;
    if (this.count > MAX_UNCONFIRMED) this.dropOldest(this.count - MAX_UNCONFIRMED);
    this.metrics.publishUnconfirmed.set(this.count);
    this.schedule();
  }

  /** Beyond MAX_UNCONFIRMED: the oldest go first (the longest-waiting lanes lose their heads). */
  private dropOldest(excess: number): void {
    let left = excess;
    for (const [lane, events] of this.lanes) {
      if (left <= 0) break;
      const n = Math.min(left, events.length);
      events.splice(0, n);
      left -= n;
      if (events.length === 0) this.lanes.delete(lane);
    }
    this.count -= excess - left;
    this.log.error(
      { dropped: excess - left },
      "too many unconfirmed fan-out events: the oldest dropped (clients reconcile with the api)",
    );
  }

  private schedule(): void {
    if (this.timer || this.stopped || this.count === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.delay);
  }

  /** Publishes what waits, oldest first per lane, a batch at a time, until Redis fails or nothing is left. */
  retry(): Promise<void> {
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async drain(): Promise<void> {
    // lanes that failed in this round wait for the next one (the others go on)
    const failedLanes = new Set<number>();
    let failed = false;
    while (this.count > 0 && !this.stopped) {
      if (this.redis.status !== "ready") break;
      const batch: Event[] = [];
      for (const [lane, events] of this.lanes) {
        if (failedLanes.has(lane)) continue;
        batch.push(...events.slice(0, RETRY_BATCH - batch.length));
        if (batch.length >= RETRY_BATCH) break;
      }
      if (batch.length === 0) break;
      try {
        const results = (await this.router.publish(batch)).errors;
        // in order per lane: confirmed up to the lane's first failure, which is tried again later
        const confirmed = new Map<number, number>();
        batch.forEach((e, i) => {
          if (failedLanes.has(e.lane)) return;
          if (results[i]) {
            failedLanes.add(e.lane);
            failed = true;
          } else confirmed.set(e.lane, (confirmed.get(e.lane) ?? 0) + 1);
        });
        for (const [lane, n] of confirmed) this.confirm(lane, n);
        this.metrics.publishUnconfirmed.set(this.count);
        if (this.count === 0) {
          this.delay = RETRY_MIN_MS;
          this.log.info("fan-out backlog published");
        }
      } catch {
        failed = true;
        break;
      }
    }
    if (this.count > 0) {
      this.delay = failed || this.redis.status !== "ready" ? Math.min(RETRY_MAX_MS, this.delay * 2) : RETRY_MIN_MS;
      this.schedule();
    }
  }

  private confirm(lane: number, n: number): void {
    const events = this.lanes.get(lane);
    if (!events) return;
    events.splice(0, n);
    this.count -= n;
    if (events.length === 0) this.lanes.delete(lane);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.count > 0)
      this.log.warn(
        { events: this.count },
        "stopping with unconfirmed fan-out events (clients reconcile with the api)",
      );
  }
}
