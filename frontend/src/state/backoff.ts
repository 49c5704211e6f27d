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
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}

/** After a replica restart (close 1012) another replica is ready: come back soon, still spread out. */
export const RESTART_JITTER_MS = 400;

/** A connection that stayed open this long after `ready` is healthy: the backoff starts over. */
export const STABLE_AFTER_MS = 10_000;

/** The close code of a replica restarting (CLOSE_CODES.serviceRestart). */
const SERVICE_RESTART = 1012;

/**
 * The socket closed (other than 4001, which signs out): how long to wait before reconnecting,
 * and the attempt count after this one. Only a replica restart (1012) on a healthy connection
 * (attempt 0) comes back within RESTART_JITTER_MS; every other close — 4002 too slow, 1011,
 * 1006 — and every close of a connection that did not stay up backs off exponentially, so a
 * persistently failing client slows down instead of reconnecting (and reloading) in a loop.
 */
export function reconnectPlan(
  code: number,
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): { delay: number; attempt: number } {
  const delay =
    code === SERVICE_RESTART && attempt === 0
      ? Math.floor(random() * RESTART_JITTER_MS)
      : backoffDelay(attempt, opts, random);
  return { delay, attempt: attempt + 1 };
}

/**
 * While a connection cannot even be opened (nothing answers: the network or every replica is
 * away), attempts come at most this far apart, so the page notices within a second or two that
 * the way is open again — there is no other signal of that than trying. Failing to connect
 * costs the servers almost nothing; a connection that opens and then closes (overload, too
 * slow, restarts) keeps the exponential backoff above.
 */
export const UNREACHABLE_CAP_MS = 1_000;
/** …for the first minute of an outage; then the usual backoff (the `online` event and any answered request still reconnect at once). */
export const UNREACHABLE_FAST_FOR_MS = 60_000;

/** The socket could not be opened, `downForMs` into an outage: how long to wait, and the attempt count after this one. */
export function unreachablePlan(
  attempt: number,
  downForMs: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): { delay: number; attempt: number } {
  const capMs = downForMs < UNREACHABLE_FAST_FOR_MS ? Math.min(opts.capMs, UNREACHABLE_CAP_MS) : opts.capMs;
  return { delay: backoffDelay(attempt, { ...opts, capMs }, random), attempt: attempt + 1 };
}
