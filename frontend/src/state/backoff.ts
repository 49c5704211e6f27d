/**
 * Reconnect delays: exponential backoff with full jitter (a uniformly random wait between 0
 * and the exponential ceiling), so thousands of clients of a crashed replica do not come back
 * in one wave.
 */
export type BackoffOptions = { baseMs: number; capMs: number };
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 15_000 };

/** The ceiling for attempt n (0-based): min(cap, base · 2^n). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  return Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, attempt));
}

/** A delay in [0, ceiling) for attempt n; `random` is injectable for tests. */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}

/** After a replica restart (close 1012) another replica is ready: come back soon, still spread out. */
export const RESTART_JITTER_MS = 400;
