/**
 * Sockets being opened on this replica right now, and a wait for a moment without any.
 *
 * A socket's `ready` cannot wait; its contacts' presence can. Loading a user's contacts is an api
 * request, a database read and presence subscriptions, on the same cores as the sockets still
 * opening: when a replica's users arrive all at once (another replica died, a deploy), the
 * lists took a third of the burst's time (bench/fanout-knee.ts, 1,000 sockets 50 at a time:
 * 0.63–0.69 s to the last `ready` with the lists switched off, 0.83–1.08 s with them). So the
 * lists wait until no socket has been opening here for `quietMs`, and never longer than
 * `holdMaxMs` after they were asked: a steady stream of arrivals holds nobody's presence for
 * long, and a socket stuck in its upgrade holds nobody for ever. With the wait, the same burst
 * took 0.51–0.72 s against 0.91–1.28 s (alternating, bench/README.md).
 *
 * One timer serves every waiter (a burst has hundreds), armed for the earliest moment anything
 * could settle and re-checked when it fires.
 */
export const OPENINGS_QUIET_MS = 50;
export const OPENINGS_HOLD_MAX_MS = 3000;

type Waiter = { until: number; resolve: () => void };

export class Openings {
  private opening = 0;
  /** when a socket last began or finished opening */
  private lastChange = Number.NEGATIVE_INFINITY;
  /** in the order asked: every hold is as long, so the first is the first due */
  private readonly waiters: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly quietMs = OPENINGS_QUIET_MS,
    private readonly holdMaxMs = OPENINGS_HOLD_MAX_MS,
  ) {}

  /** Sockets opening now. */
  get size(): number {
    return this.opening;
  }

  /** A socket began opening. Call what is returned once it is open or refused (once; later calls do nothing). */
  begin(): () => void {
    this.opening++;
    this.lastChange = performance.now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.opening--;
      this.lastChange = performance.now();
      if (this.opening === 0) this.arm();
    };
  }

  /** Settles once no socket has been opening here for `quietMs`, or `holdMaxMs` from now at the latest. */
  quiet(): Promise<void> {
    const now = performance.now();
    if (this.isQuiet(now)) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.waiters.push({ until: now + this.holdMaxMs, resolve });
    this.arm();
    return promise;
  }

  private isQuiet(now: number): boolean {
    return this.opening === 0 && now - this.lastChange >= this.quietMs;
  }

  /** Arms the timer for the earliest moment a waiter could settle, unless it fires sooner already. */
  private arm(): void {
    const first = this.waiters[0];
    if (!first) return;
    const at = this.opening === 0 ? Math.min(this.lastChange + this.quietMs, first.until) : first.until;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - performance.now()));
    // a stopping process does not wait for presence
    this.timer.unref?.();
  }

  private wake(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let due = this.waiters.length;
    if (!this.isQuiet(now)) {
      due = 0;
      while (due < this.waiters.length && this.waiters[due]!.until <= now) due++;
    }
    for (const w of this.waiters.splice(0, due)) w.resolve();
    this.arm();
  }
}
