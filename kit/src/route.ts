/**
 * Where an event for some users goes in Redis, decided once for every publisher (the api's
 * fan-out, realtime's typing relay, the benchmarks that stand in for the api).
 *
 * On one Redis server an event is routed to replicas, not users. Each user's route (contract
 * presenceKeys.route: the ids of the replicas holding a socket of theirs, written by realtime's
 * presence scripts) is read with one MGET for all the recipients of an event, then the event is
 * published once per replica on its channel, naming its recipients (contract readRoutedEvent).
 * A message to a room of 10 whose members sit on two replicas is then one MGET and two Redis
 * messages, which each replica reads once, instead of ten. Redis CPU per such event
 * (bench/route-cost.ts, results/route-cost.md): about a third of ten PUBLISHes', and the Lua
 * scripts tried for the same in one step (one round trip fewer) cost Redis 1.2–5.5 times as
 * much, so they were not kept: Redis is the part every replica and api process shares.
 *
 * Why reading first and publishing after is enough: realtime sends `ready` only once the user's
 * route names its replica, and a publisher reads routes after the event was committed. So an
 * event committed after `ready` is routed to the socket's replica; one committed before may
 * not be, and the client's catch-up after `ready` reads it from the api.
 *
 * On a Redis Cluster the recipients' routes are on every shard: there each recipient's user
 * channel gets its own SPUBLISH (sharded pub/sub, the channel's shard only), in one round trip,
 * and realtime follows its users' channels.
 */
import { presenceKeys, replicaChannel, userChannel } from "@parley/contract/frames";
import { MARKS_PUBLISHERS_KEY, type Marker, marksKey } from "./marks.ts";
import { type Reply, SlotPipeline } from "./pipeline.ts";
import { isCluster, type RedisClient } from "./redis.ts";

/**
 * One event for some users: its text (a FanoutEvent, encoded once) and who gets it; `mark`: its
 * number from the router's Marker (kit/marks), whose mark the frame in `payload` carries.
 */
export type Routed = { userIds: readonly string[]; payload: string; mark?: number };

export type RouteResult = {
  /** per event: why it did not reach Redis, or null when it did */
  errors: (Error | null)[];
  /** the replies of the commands `first` added */
  first: Reply[];
};

/** The replicas a route names (the presence scripts join them with commas). */
const replicasOf = (route: unknown): string[] => (typeof route === "string" && route ? route.split(",") : []);

/**
 * An event's recipients per replica, in the event's order, from their routes as one MGET read
 * them (`routes[j]` is `userIds[j]`'s), and the message for each replica's channel
 * (contract readRoutedEvent).
 */
export function routedMessages(userIds: readonly string[], routes: readonly unknown[], payload: string) {
  const named = new Map<string, string[]>();
  routes.forEach((route, j) => {
    for (const replica of replicasOf(route)) {
      const ids = named.get(replica);
      if (ids) ids.push(userIds[j]!);
      else named.set(replica, [userIds[j]!]);
    }
  });
  return [...named].map(([replica, ids]) => ({
    channel: replicaChannel(replica),
    message: `${ids.join(",")}\n${payload}`,
  }));
}

export class EventRouter {
  /** true on one server (events go to replicas), false on a cluster (to each user's channel) */
  readonly byReplica: boolean;

  /** `marker`: the publishing process's, when its events carry marks (the api's do) */
  constructor(
    private readonly client: RedisClient,
    private readonly marker?: Marker,
  ) {
    this.byReplica = !isCluster(client);
  }

  /**
   * Publishes each event to its recipients. `first` adds other commands to the first round trip
   * (before anything is published). Rejects only when that first round trip failed as a whole
   * (one server unreachable); otherwise each event says whether it reached Redis.
   */
  async publish(events: readonly Routed[], first?: (pipe: SlotPipeline) => void): Promise<RouteResult> {
    const pipe = new SlotPipeline(this.client);
    first?.(pipe);
    const extra = pipe.length;
    if (!this.byReplica) {
      // one SPUBLISH per recipient, each on its own shard
      const owners: number[] = [];
      events.forEach((e, i) => {
        for (const id of e.userIds) {
          pipe.publish(userChannel(id), e.payload);
          owners.push(i);
        }
      });
      const replies = await pipe.exec();
      const errors: (Error | null)[] = events.map(() => null);
      owners.forEach((i, at) => {
        errors[i] ??= replies[extra + at]?.[0] ?? null;
      });
      return { errors, first: replies.slice(0, extra) };
    }
    // marks first (contract/marks): a route read below may be about to change, and a socket's
    // `ready` reads marks after its route changed, so it sees this event's mark if it was routed away
    // (an event whose mark Redis did not record is not published now: it is kept and tried again)
    const markAt = new Map<number, number>();
    const publishersAt = pipe.length;
    if (this.marker && events.some((e) => e.mark !== undefined && e.userIds.length > 0)) {
      const { publisher } = this.marker;
      const key = marksKey(publisher);
      pipe.add(MARKS_PUBLISHERS_KEY, (p) => p.zadd(MARKS_PUBLISHERS_KEY, Date.now(), publisher));
      events.forEach((e, i) => {
        if (e.mark === undefined || e.userIds.length === 0) return;
        const fields: (string | number)[] = [];
        for (const id of e.userIds) fields.push(id, e.mark);
        markAt.set(i, pipe.length);
        pipe.add(key, (p) => p.hset(key, ...fields));
      });
    }
    const routesAt = pipe.length;
    for (const e of events) if (e.userIds.length > 0) pipe.add("", (p) => p.mget(...e.userIds.map(presenceKeys.route)));
    const replies = await pipe.exec();
    const errors: (Error | null)[] = events.map(() => null);
    const publishes = new SlotPipeline(this.client);
    const owners: number[] = [];
    let at = routesAt;
    // once one event cannot go, the later ones wait with it (one lane: their order is kept)
    let stuck: Error | null = null;
    events.forEach((e, i) => {
      if (e.userIds.length === 0) return;
      const [routeErr, routes] = replies[at++] ?? [new Error("no reply"), null];
      const markReply = markAt.get(i);
      stuck ??=
        routeErr ?? (markReply === undefined ? null : (replies[publishersAt]?.[0] ?? replies[markReply]?.[0] ?? null));
      if (stuck) {
        errors[i] = stuck;
        return;
      }
      for (const { channel, message } of routedMessages(e.userIds, routes as unknown[], e.payload)) {
        publishes.publish(channel, message);
        owners.push(i);
      }
    });
    if (publishes.length > 0) {
      try {
        const published = await publishes.exec();
        owners.forEach((i, k) => {
          errors[i] ??= published[k]?.[0] ?? null;
        });
      } catch (err) {
        for (const i of owners) errors[i] ??= err as Error;
      }
    }
    return { errors, first: replies.slice(0, extra) };
  }

  /** Publishes events and throws if any did not reach Redis (for callers with no retry of their own). */
  async publishOrThrow(events: readonly Routed[]): Promise<void> {
    const failed = (await this.publish(events)).errors.find((e) => e !== null);
    if (failed) throw failed;
  }
}
