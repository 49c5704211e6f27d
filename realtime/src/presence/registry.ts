/**
 * Presence without ghosts. Each replica keeps an expiring entry per local user in Redis,
 * refreshes them on a heartbeat, and every replica sweeps entries whose replica stopped
 * refreshing (crashed), so a crashed replica's users read offline within TTL + one sweep.
 * Online = at least one unexpired entry (contract's readOnline, which the api reads too).
 */
import type { ChainableCommander } from "ioredis";
import { encodeFanoutEvent, presenceChannel, presenceKeys, readOnline } from "@parley/contract/frames";
import { PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import { type Reply, SlotPipeline, slotPipelines } from "@parley/kit/pipeline";
import { publishVerb } from "@parley/kit/pubsub";
import type { RedisClient } from "@parley/kit/redis";
import { TurnBatches } from "../libs/turn-batches.ts";
import { CLAIM_DEADLINE, MARK_OFFLINE, MARK_ONLINE, SWEEP_USER } from "./scripts.ts";

type Script = (...args: (string | number)[]) => ChainableCommander;
type Scripts = { presenceOnline: Script; presenceOffline: Script; presenceClaim: Script; presenceSweep: Script };

/** How often each replica looks for presence entries of crashed replicas. */
export const SWEEP_INTERVAL_MS = 2000;
const SWEEP_BATCH = 500;
/** A user's set and route outlive their last refresh this long (then nobody is left to sweep them). */
const KEY_TTL_MS = PRESENCE_TTL_MS * 3;

const presencePayload = (userId: string, online: boolean) =>
  encodeFanoutEvent({ type: "presence", userId, online }, Date.now());

const scripts = (p: ChainableCommander) => p as unknown as Scripts;

export class PresenceRegistry {
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly verb: string;
  /** arrivals and departures of one turn, one pipeline per run of them, in order */
  private readonly arrivals = new TurnBatches<"arrived" | "left", string>((kind, userIds) =>
    kind === "arrived" ? this.refreshAll(userIds) : this.removeAll(userIds),
  );

  constructor(
    private readonly redis: RedisClient,
    private readonly replicaId: string,
    private readonly log: Logger,
  ) {
    redis.defineCommand("presenceOnline", { numberOfKeys: 2, lua: MARK_ONLINE });
    redis.defineCommand("presenceOffline", { numberOfKeys: 2, lua: MARK_OFFLINE });
    redis.defineCommand("presenceClaim", { numberOfKeys: 1, lua: CLAIM_DEADLINE });
    redis.defineCommand("presenceSweep", { numberOfKeys: 2, lua: SWEEP_USER });
    this.verb = publishVerb(redis);
  }

  /**
   * Starts the heartbeat for `localUsers` (the users with a socket here right now) and the
   * sweeper. `lost` hears of users whose entry of this replica the heartbeat found gone (swept
   * while this replica stalled past the TTL): events routed to them meanwhile went elsewhere.
   */
  start(localUsers: () => Iterable<string>, lost: (userIds: string[]) => void = () => {}): void {
    this.heartbeat = setInterval(
      () =>
        void this.refreshAll(localUsers()).then((missing) => {
          if (missing.length > 0) lost(missing);
        }),
      PRESENCE_HEARTBEAT_MS,
    );
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
  }

  private deadlineMember(userId: string) {
    return `${userId}|${this.replicaId}`;
  }

  /** Adds "this user is here" to a pipeline: their entry (announcing them if they were offline). */
  private online(pipe: SlotPipeline, userId: string, now: number): void {
    const key = presenceKeys.user(userId);
    pipe.add(key, (p) =>
      scripts(p).presenceOnline(
        key,
        presenceKeys.route(userId),
        this.replicaId,
        now + PRESENCE_TTL_MS,
        now,
        presenceChannel(userId),
        presencePayload(userId, true),
        KEY_TTL_MS,
        this.verb,
      ),
    );
  }

  private offline(pipe: SlotPipeline, userId: string, now: number): void {
    const key = presenceKeys.user(userId);
    pipe.add(key, (p) =>
      scripts(p).presenceOffline(
        key,
        presenceKeys.route(userId),
        this.replicaId,
        now,
        presenceChannel(userId),
        presencePayload(userId, false),
        this.verb,
        KEY_TTL_MS,
      ),
    );
  }

  /** The user's first socket on this replica opened (sent with the others of this turn). */
  userArrived(userId: string): Promise<void> {
    return this.arrivals.add("arrived", userId);
  }

  /** The user's last socket on this replica closed (sent with the others of this turn). */
  userLeft(userId: string): Promise<void> {
    return this.arrivals.add("left", userId);
  }

  /**
   * Heartbeat: one pipeline (per shard) refreshing every local user and their deadlines (and
   * re-announcing anyone a sweeper wrongly expired while this replica was stalled). Returns the
   * users who had no entry of this replica (new ones, or ones a sweeper removed).
   */
  async refreshAll(userIds: Iterable<string>): Promise<string[]> {
    const now = Date.now();
    const pipe = new SlotPipeline(this.redis);
    const ids: string[] = [];
    const deadlines: (string | number)[] = [];
    for (const userId of userIds) {
      this.online(pipe, userId, now);
      ids.push(userId);
      deadlines.push(now + PRESENCE_TTL_MS, this.deadlineMember(userId));
    }
    if (pipe.length === 0) return [];
    pipe.add(presenceKeys.deadlines, (p) => p.zadd(presenceKeys.deadlines, ...deadlines));
    const replies = await this.settle(pipe, "presence online failed");
    return ids.filter((_, i) => {
      const [err, value] = replies[i] ?? [null, 0];
      return !err && (Number(value) & 2) === 2;
    });
  }

  /** Claims expired entries of any replica and announces users left with no live entry. */
  async sweep(): Promise<void> {
    try {
      const now = Date.now();
      const expired = await this.redis.zrangebyscore(presenceKeys.deadlines, "-inf", now, "LIMIT", 0, SWEEP_BATCH);
      if (expired.length === 0) return;
      // first claim the deadlines (one shard), then settle the users who were claimed (theirs)
      const claims = new SlotPipeline(this.redis);
      for (const member of expired)
        claims.add(presenceKeys.deadlines, (p) => scripts(p).presenceClaim(presenceKeys.deadlines, member, now));
      const claimed = (await claims.exec()).map(([err, r]) => !err && r === 1);
      const settle = new SlotPipeline(this.redis);
      expired.forEach((member, i) => {
        const cut = member.indexOf("|");
        if (!claimed[i] || cut < 0) return;
        const userId = member.slice(0, cut);
        const key = presenceKeys.user(userId);
        settle.add(key, (p) =>
          scripts(p).presenceSweep(
            key,
            presenceKeys.route(userId),
            member.slice(cut + 1),
            now,
            presenceChannel(userId),
            presencePayload(userId, false),
            this.verb,
            KEY_TTL_MS,
          ),
        );
      });
      const offline = (await settle.exec()).filter(([, r]) => r === 1).length;
      if (offline > 0) this.log.info({ offline }, "presence: swept users of a stopped replica");
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "presence sweep failed");
    }
  }

  /** Which of `userIds` are online now (one pipeline per shard). */
  snapshot(userIds: readonly string[]): Promise<Map<string, boolean>> {
    return readOnline(slotPipelines(this.redis), userIds);
  }

  /** Shutdown: stop the timers and remove this replica's entries (announcing who went offline). */
  async stop(userIds: string[]): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    await this.removeAll(userIds, "presence cleanup failed");
  }

  private async removeAll(userIds: string[], what = "presence offline failed"): Promise<void> {
    if (userIds.length === 0) return;
    const now = Date.now();
    const pipe = new SlotPipeline(this.redis);
    for (const userId of userIds) this.offline(pipe, userId, now);
    const members = userIds.map((u) => this.deadlineMember(u));
    pipe.add(presenceKeys.deadlines, (p) => p.zrem(presenceKeys.deadlines, ...members));
    await this.settle(pipe, what);
  }

  /** Sends the pipeline; failures are logged, never thrown. Its replies (none when it failed whole). */
  private async settle(pipe: SlotPipeline, what: string): Promise<Reply[]> {
    try {
      const replies = await pipe.exec();
      const failed = replies.find(([err]) => err);
      if (failed?.[0]) this.log.warn({ err: failed[0].message }, what);
      return replies;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, what);
      return [];
    }
  }
}
