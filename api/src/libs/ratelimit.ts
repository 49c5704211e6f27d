/**
 * Fixed-window counters in Redis, so a limit holds across api replicas. When Redis does not
 * answer, limits fail open (logged and counted): an outage of the cache must not lock
 * everyone out of chatting. Each counter is a transaction of its own (INCR, EXPIRE NX, PTTL of
 * one key), sent together: on a Redis Cluster a transaction may only touch one slot.
 */
import type { Logger } from "@parley/kit/log";
import type { Redis } from "./redis.ts";
import type { ApiMetrics } from "./metrics.ts";
import { rateLimited } from "./errors.ts";

export type Window = { count: number; retryAfterSeconds: number };

export type RateLimiter = {
  /** count one event for each key; returns each key's count in its window */
  hit(keys: string[], windowSeconds: number): Promise<Window[] | null>;
  clear(keys: string[]): Promise<void>;
  /** take back one counted event for each key (never creates a key or goes below zero) */
  release(keys: string[]): Promise<void>;
};

/** DECR only a counter that still exists and is above zero, so an expired window is not revived without a TTL. */
const RELEASE =
  "local n = tonumber(redis.call('GET', KEYS[1]) or '0') if n > 0 then return redis.call('DECR', KEYS[1]) end return 0";

const PREFIX = "parley:rl:";

export function createRateLimiter(redis: Redis, log: Logger, metrics: ApiMetrics): RateLimiter {
  const failOpen = (err: unknown) => {
    metrics.rateLimitErrors.inc();
    log.warn({ err: (err as Error).message }, "rate limit check skipped: redis unavailable");
    return null;
  };
  const ttl = (pttl: unknown, fallback: number) => (typeof pttl === "number" && pttl > 0 ? pttl / 1000 : fallback);
  return {
    async hit(keys, windowSeconds) {
      try {
        const counted = await Promise.all(
          keys.map((k) =>
            redis
              .multi()
              .incr(PREFIX + k)
              .expire(PREFIX + k, windowSeconds, "NX")
              .pttl(PREFIX + k)
              .exec(),
          ),
        );
        return counted.map((res) => ({
          count: Number(res?.[0]?.[1] ?? 0),
          retryAfterSeconds: ttl(res?.[2]?.[1], windowSeconds),
        }));
      } catch (err) {
        return failOpen(err);
      }
    },
    async clear(keys) {
      try {
        await Promise.all(keys.map((k) => redis.del(PREFIX + k)));
      } catch (err) {
        failOpen(err);
      }
    },
    async release(keys) {
      try {
        await Promise.all(keys.map((k) => redis.eval(RELEASE, 1, PREFIX + k)));
      } catch (err) {
        failOpen(err);
      }
    },
  };
}

/**
 * Counts one action of `key` and refuses it (429 with Retry-After) beyond `max` per window. With
 * Redis away it lets the action through, as every limit here does.
 */
export async function allowOrRefuse(
  limiter: RateLimiter,
  key: string,
  max: number,
  windowSeconds: number,
  message: string,
): Promise<void> {
  const [window] = (await limiter.hit([key], windowSeconds)) ?? [];
  if (window && window.count > max) throw rateLimited(window.retryAfterSeconds, message);
}
