/**
 * Signed-out sessions, checked the same way by the api (every request) and realtime (every
 * upgrade, and the sockets already open). A token stays valid by signature until it expires,
 * so signing out records the session as revoked in Redis, and every process asks that record.
 *
 * Per user, one Redis hash `parley:sessions:<userId>`: `sid:<sid>` → the token's expiry for each
 * revoked session, and `before` → a time (ms): every session started before it is revoked ("sign
 * out everywhere"). The key expires with the longest token lifetime, when nothing in it matters.
 * A user who revoked more than MAX_SIDS sessions whose tokens still live is signed out everywhere
 * instead, so the record of one user stays small however often they sign in and out.
 *
 * Checks are in-process: each process keeps a user's record for TTL after reading it (one Redis
 * round trip per user and TTL, never one per request), and every change is announced on
 * REVOKED_CHANNEL, which drops the copies at once everywhere (a subscriber that may have missed
 * some drops all of them). The announcement follows the write as a command of its own: on a
 * Redis Cluster the record and the channel live on different shards. Redis not answering: the
 * check passes (logged, counted) rather than signing everyone out during an outage; what was
 * known before still applies.
 */
import type { Logger } from "./log.ts";
import { type ChannelSubscriber, publish } from "./pubsub.ts";
import type { RedisClient } from "./redis.ts";
import type { SessionClaims } from "./session.ts";

export const REVOKED_CHANNEL = "parley:sessions:revoked";
const key = (userId: string) => `parley:sessions:${userId}`;

/** Revoked sessions one user may have outstanding before a sign-out becomes "everywhere". */
export const MAX_SIDS = 32;

/** KEYS: the user's record. ARGV: field, value, ttl seconds, max sids, now ms.
 * Records one revocation; past MAX_SIDS sessions it collapses them into `before = now`. */
const REVOKE = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[4]) + 1 then
  local before = tonumber(redis.call('HGET', KEYS[1], 'before') or '0')
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'before', math.max(before, tonumber(ARGV[5])))
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** A user's record as read from Redis. */
type Record = { before: number; sids: ReadonlySet<string> };
/**
 * The record of everyone who never signed out, shared: realtime keeps a user's record while
 * their socket is open, and one Set and object per user was ~0.1 KiB of each idle socket
 * (bench/socket-memory.ts's heap snapshot).
 */
const NOTHING_REVOKED: Record = Object.freeze({ before: 0, sids: new Set<string>() });
type Entry = { record: Record; expires: number };

export type SessionRef = Pick<SessionClaims, "userId" | "sid" | "startedAt">;

export const isRevokedBy = (record: Record, s: SessionRef) => s.startedAt < record.before || record.sids.has(s.sid);

export class Revocations {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Record | null>>();
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: {
      log: Logger;
      /** how long a user's record is trusted without a change announced (default 60 s) */
      ttlMs?: number;
      maxEntries?: number;
      /** the longest a token lives: the record's own expiry (only a process that signs out needs it) */
      tokenTtlSeconds?: number;
      /** a check that could not reach Redis (for a metric) */
      onUnavailable?: () => void;
      /** how long a check waits for Redis before it passes (default 1 s) */
      timeoutMs?: number;
    },
  ) {}

  /** Whether this session was signed out. From memory when known; else one Redis read. */
  async isRevoked(s: SessionRef): Promise<boolean> {
    const record = await this.record(s.userId);
    return record ? isRevokedBy(record, s) : false;
  }

  /** The user's record (cached); null when Redis did not answer. */
  async record(userId: string): Promise<Record | null> {
    const hit = this.entries.get(userId);
    if (hit && hit.expires > Date.now()) return hit.record;
    let pending = this.loading.get(userId);
    if (!pending) {
      const load: Promise<Record | null> = this.read(userId)
        .then((record) => {
          // a change announced while we read drops our promise: then the answer is not kept
          if (this.loading.get(userId) === load) this.remember(userId, record);
          return record;
        })
        .catch((err: Error) => {
          this.unavailable(err);
          return null;
        })
        .finally(() => {
          if (this.loading.get(userId) === load) this.loading.delete(userId);
        });
      this.loading.set(userId, load);
      pending = load;
    }
    return pending;
  }

  /** Signs one session out (until its token would have expired anyway) and tells every process. */
  async revoke(s: SessionRef & { exp: number }): Promise<void> {
    await this.write(s.userId, `sid:${s.sid}`, String(s.exp));
  }

  /** Signs out every session of the user started before now ("sign out everywhere"). */
  async revokeAll(userId: string): Promise<void> {
    await this.write(userId, "before", String(Date.now()));
  }

  /** A change announced by some process (or our own echo): forget the copy. */
  drop(userId: string): void {
    this.entries.delete(userId);
    this.loading.delete(userId);
  }

  /**
   * Follows the announcements on a subscriber (its messages go to every listener; ours filters
   * the channel). `changed` hears each user whose record changed.
   */
  follow(subscriber: ChannelSubscriber, changed?: (userId: string) => void): void {
    subscriber.onMessage((channel, userId) => {
      if (channel !== REVOKED_CHANNEL) return;
      this.drop(userId);
      changed?.(userId);
    });
    // a subscriber that may have missed announcements: forget everything once
    subscriber.onResync((lost) => {
      if (lost === "all" || lost.includes(REVOKED_CHANNEL)) this.clear();
    });
    void subscriber.subscribe(REVOKED_CHANNEL).catch((err: Error) => {
      this.opts.log.warn({ err: err.message }, "could not follow sign-outs; relying on the TTL");
    });
  }

  clear(): void {
    this.entries.clear();
    this.loading.clear();
  }

  private async write(userId: string, field: string, value: string): Promise<void> {
    this.drop(userId);
    await this.redis.eval(
      REVOKE,
      1,
      key(userId),
      field,
      value,
      this.opts.tokenTtlSeconds ?? 7 * 86_400,
      MAX_SIDS,
      Date.now(),
    );
    this.drop(userId);
    await publish(this.redis, REVOKED_CHANNEL, userId);
  }

  private async read(userId: string): Promise<Record> {
    const timeout = this.opts.timeoutMs ?? 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fields = await Promise.race([
      this.redis.hgetall(key(userId)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    const sids = new Set<string>();
    for (const f of Object.keys(fields)) if (f.startsWith("sid:")) sids.add(f.slice(4));
    const before = Number(fields.before ?? 0) || 0;
    return before === 0 && sids.size === 0 ? NOTHING_REVOKED : { before, sids };
  }

  private remember(userId: string, record: Record): void {
    const max = this.opts.maxEntries ?? 100_000;
    if (this.entries.size >= max) {
      const now = Date.now();
      for (const [id, e] of this.entries) if (e.expires <= now) this.entries.delete(id);
      // still full: drop the oldest half (a Map keeps insertion order)
      let n = this.entries.size >= max ? Math.floor(this.entries.size / 2) : 0;
      for (const id of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(id);
      }
    }
    this.entries.set(userId, { record, expires: Date.now() + (this.opts.ttlMs ?? 60_000) });
  }

  private unavailable(err: Error): void {
    this.opts.onUnavailable?.();
    // one line per 10 s at most: an outage must not flood the log with one line per request
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.opts.log.warn({ err: err.message }, "sign-out check skipped: redis unavailable");
  }
}
