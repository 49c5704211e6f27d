/**
 * Telling the api how far the user has read, without a request per message: while a
 * conversation is open, every message that comes into view moves the read position, and each
 * of those would be a database write on the server. Marks are coalesced per conversation: the
 * first goes at once, later ones at most every MARK_EVERY_MS (the highest wins), and what waits
 * is sent when the tab is hidden or closed. The screen updates at once either way.
 */
import type { Id } from "@parley/contract";

const MARK_EVERY_MS = 2000;

export class ReadMarks {
  /** conversation → the highest seq not sent yet */
  private readonly waiting = new Map<Id, number>();
  private readonly lastSent = new Map<Id, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly send: (id: Id, seq: number) => Promise<unknown>,
    private readonly everyMs = MARK_EVERY_MS,
  ) {
    if (typeof document === "undefined") return; // not in a page (unit tests)
    addEventListener("pagehide", this.flush);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this.flush();
    });
  }

  mark(id: Id, seq: number): void {
    if (seq <= (this.waiting.get(id) ?? 0)) return;
    const since = Date.now() - (this.lastSent.get(id) ?? 0);
    if (since >= this.everyMs && !this.waiting.has(id)) {
      this.post(id, seq);
      return;
    }
    this.waiting.set(id, seq);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.everyMs - Math.min(since, this.everyMs));
  }

  /** Sends everything waiting now. */
  flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [id, seq] of this.waiting) this.post(id, seq);
    this.waiting.clear();
  };

  /** The session ended: what waits is dropped (it belongs to the signed-out user). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.clear();
    this.lastSent.clear();
  }

  private post(id: Id, seq: number): void {
    this.lastSent.set(id, Date.now());
    void this.send(id, seq).catch(() => undefined);
  }
}
