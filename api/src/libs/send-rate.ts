/**
 * The send rate limit (SEND_RATE_MAX new messages per user per SEND_RATE_WINDOW_SECONDS), an
 * abuse guard that costs the send path no Redis round trip of its own.
 *
 * Windows are fixed and aligned to the clock, so every process agrees which one is current
 * without asking. Each process decides from what it knows: the messages committed in the
 * current window (its own, plus the total Redis last told it) and its sends still in flight.
 * The Redis counter is raised in the same pipeline as the message's fan-out (see
 * messages/service.ts), and its answer teaches this process what the others counted.
 *
 * So the limit is exact for a user whose sends reach one api process, and across processes a
 * user can get at most one window's allowance per process before each has heard of the others.
 * Replays of an already committed clientId are not counted. With Redis down the limit still
 * holds per process (this is no fail-open).
 */
const KEY_PREFIX = "parley:rl:send:";

type State = { window: number; committed: number; inFlight: number };

export class SendRate {
  private readonly users = new Map<string, State>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  private windowAt(now: number) {
    return Math.floor(now / this.windowMs);
  }

  private state(userId: string, now: number): State {
    const window = this.windowAt(now);
    let s = this.users.get(userId);
    if (!s) {
      if (this.users.size > 50_000) this.sweep(window);
      s = { window, committed: 0, inFlight: 0 };
      this.users.set(userId, s);
    } else if (s.window !== window) {
      s.window = window;
      s.committed = 0;
    }
    return s;
  }

  /**
   * Takes a place for one send. Returns 0 when it may go ahead (then `settle` must follow),
   * else the seconds until the window ends.
   */
  reserve(userId: string, now = Date.now()): number {
    const s = this.state(userId, now);
    if (s.committed + s.inFlight >= this.max) return ((s.window + 1) * this.windowMs - now) / 1000;
    s.inFlight++;
    return 0;
  }

  /** The send ended: `created` counts it; a replay or a failure gives the place back. */
  settle(userId: string, created: boolean, now = Date.now()): void {
    const s = this.state(userId, now);
    s.inFlight = Math.max(0, s.inFlight - 1);
    if (created) s.committed++;
  }

  /** The Redis counter of the user's current window, and how to raise it (for the fan-out pipeline). */
  counter(userId: string, now = Date.now()): { key: string; window: number; ttlSeconds: number } {
    const window = this.windowAt(now);
    return { key: `${KEY_PREFIX}${userId}:${window}`, window, ttlSeconds: Math.ceil((2 * this.windowMs) / 1000) };
  }

  /** What Redis says the user committed in `window`, all processes together. */
  learn(userId: string, window: number, total: number): void {
    const s = this.users.get(userId);
    if (s && s.window === window) s.committed = Math.max(s.committed, total);
  }

  private sweep(current: number) {
    for (const [id, s] of this.users) if (s.window !== current && s.inFlight === 0) this.users.delete(id);
  }
}
