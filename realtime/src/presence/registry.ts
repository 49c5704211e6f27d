/**
 * Presence without ghosts. Each replica keeps an expiring entry per local user in Redis,
 * refreshes them on a heartbeat, and every replica sweeps entries whose replica stopped
 * refreshing (crashed), so a crashed replica's users read offline within TTL + one sweep.
 * Online = at least one unexpired entry (contract's readOnline, which the api reads too).
 */
import type Redis from "ioredis";
import type { ChainableCommander } from "ioredis";
import { encodeFanoutEvent, presenceChannel, presenceKeys, readOnline } from "@parley/contract/frames";
import { PRESENCE_HEARTBEAT_MS, PRESENCE_TTL_MS } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import { MARK_OFFLINE, MARK_ONLINE, SWEEP_ONE } from "./scripts.ts";

type Scripts = {
  presenceOnline(...args: (string | number)[]): Promise<number>;
  presenceOffline(...args: (string | number)[]): Promise<number>;
  presenceSweep(...args: (string | number)[]): Promise<number>;
};
type PipelineScripts = { [K in keyof Scripts]: (...args: (string | number)[]) => ChainableCommander };

/** How often each replica looks for presence entries of crashed replicas. */
export const SWEEP_INTERVAL_MS = 2000;
const SWEEP_BATCH = 500;

const presencePayload = (userId: string, online: boolean) =>
  encodeFanoutEvent({ type: "presence", userId, online }, Date.now());

export class PresenceRegistry {
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private readonly scripts: Scripts;

  constructor(
    private readonly redis: Redis,
    private readonly replicaId: string,
    private readonly log: Logger,
  ) {
    redis.defineCommand("presenceOnline", { numberOfKeys: 2, lua: MARK_ONLINE });
    redis.defineCommand("presenceOffline", { numberOfKeys: 2, lua: MARK_OFFLINE });
    redis.defineCommand("presenceSweep", { numberOfKeys: 2, lua: SWEEP_ONE });
    this.scripts = redis as unknown as Scripts;
  }

  /** Starts the heartbeat for `localUsers` (the users with a socket here right now) and the sweeper. */
  start(localUsers: () => Iterable<string>): void {
    this.heartbeat = setInterval(() => void this.refreshAll(localUsers()), PRESENCE_HEARTBEAT_MS);
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
  }

  private onlineArgs(userId: string, now: number) {
    return [
      presenceKeys.user(userId),
      presenceKeys.deadlines,
      this.replicaId,
      now + PRESENCE_TTL_MS,
      now,
      `${userId}|${this.replicaId}`,
      presenceChannel(userId),
      presencePayload(userId, true),
      PRESENCE_TTL_MS * 3,
    ];
  }

  private offlineArgs(userId: string, now: number) {
    return [
      presenceKeys.user(userId),
      presenceKeys.deadlines,
      this.replicaId,
      now,
      `${userId}|${this.replicaId}`,
      presenceChannel(userId),
      presencePayload(userId, false),
    ];
  }

  /** The user's first socket on this replica opened. */
  async userArrived(userId: string): Promise<void> {
    await this.scripts
      .presenceOnline(...this.onlineArgs(userId, Date.now()))
      .catch((err: Error) => this.log.warn({ userId, err: err.message }, "presence online failed"));
  }

  /** The user's last socket on this replica closed. */
  async userLeft(userId: string): Promise<void> {
    await this.scripts
      .presenceOffline(...this.offlineArgs(userId, Date.now()))
      .catch((err: Error) => this.log.warn({ userId, err: err.message }, "presence offline failed"));
  }

  /** Heartbeat: one pipeline refreshing every local user (and re-announcing anyone a sweeper
   * wrongly expired while this replica was stalled). */
  async refreshAll(userIds: Iterable<string>): Promise<void> {
    const now = Date.now();
    const pipe = this.redis.pipeline();
    let n = 0;
    for (const userId of userIds) {
      (pipe as unknown as PipelineScripts).presenceOnline(...this.onlineArgs(userId, now));
      n++;
    }
    if (n === 0) return;
    await pipe.exec().catch((err: Error) => this.log.warn({ err: err.message }, "presence heartbeat failed"));
  }

  /** Claims expired entries of any replica and announces users left with no live entry. */
  async sweep(): Promise<void> {
    try {
      const now = Date.now();
      const expired = await this.redis.zrangebyscore(presenceKeys.deadlines, "-inf", now, "LIMIT", 0, SWEEP_BATCH);
      if (expired.length === 0) return;
      const pipe = this.redis.pipeline();
      for (const member of expired) {
        const cut = member.indexOf("|");
        if (cut < 0) continue;
        const userId = member.slice(0, cut);
        const replicaId = member.slice(cut + 1);
        (pipe as unknown as PipelineScripts).presenceSweep(
          presenceKeys.deadlines,
          presenceKeys.user(userId),
          member,
          replicaId,
          now,
          presenceChannel(userId),
          presencePayload(userId, false),
        );
      }
      const results = (await pipe.exec()) ?? [];
      const offline = results.filter(([, r]) => r === 1).length;
      if (offline > 0) this.log.info({ offline }, "presence: swept users of a stopped replica");
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "presence sweep failed");
    }
  }

  /** Which of `userIds` are online now (one pipeline). */
  snapshot(userIds: string[]): Promise<Map<string, boolean>> {
    return readOnline(this.redis, userIds);
  }

  /** Shutdown: stop the timers and remove this replica's entries (announcing who went offline). */
  async stop(userIds: string[]): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
    const now = Date.now();
    const pipe = this.redis.pipeline();
    let n = 0;
    for (const userId of userIds) {
      (pipe as unknown as PipelineScripts).presenceOffline(...this.offlineArgs(userId, now));
      n++;
    }
    if (n > 0) await pipe.exec().catch((err: Error) => this.log.warn({ err: err.message }, "presence cleanup failed"));
  }
}
