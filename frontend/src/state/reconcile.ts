/**
 * Keeps the client honest about what it may have missed while the socket looked healthy: every
 * RECONCILE_MS while the tab is visible and the socket connected, and whenever the tab comes
 * back into view, the store reconciles with the api (Sync.reconcile). A reconnect does the same
 * on its own (the `ready` frame), so this covers the quiet case: a lost event in a conversation
 * where nothing else happens.
 */
const RECONCILE_MS = 30_000;

export class Reconciler {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly reconcile: () => Promise<void>,
    private readonly connected: () => boolean,
  ) {}

  start(): void {
    this.stop();
    this.timer = setInterval(this.tick, RECONCILE_MS);
    document.addEventListener("visibilitychange", this.tick);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    document.removeEventListener("visibilitychange", this.tick);
  }

  private tick = (): void => {
    if (document.visibilityState === "visible" && this.connected()) void this.reconcile();
  };
}
