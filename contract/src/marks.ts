/**
 * Marks: how a client that reconnects knows, without asking the api, that it missed nothing.
 *
 * Every event the api publishes carries a mark, `<publisher>:<n>`: the api process that published
 * it and that process's count of events so far. In the same Redis round trip that reads the
 * recipients' routes (kit/route), and before that read, the publisher records per recipient the
 * mark of the newest event it published to them (kit/marks). A replica answering a socket reads
 * the user's marks once their route names it and their socket is listening (`ready.marks`).
 *
 * Why that is exact: one process's events reach a socket in the order of their marks (its
 * round trips go out on one connection, in order), so a client that saw `p:n` live saw every
 * earlier event of `p` for it, or had caught up past it. An event whose route was read before
 * the socket's route named its new replica (so it went elsewhere) had its mark recorded before
 * that, so `ready` reports it. A client whose marks reach those of `ready` has seen everything
 * up to `ready`, and everything after comes live: no catch-up needed. Anything else (marks
 * unknown, another Redis, a mark ahead of what it saw, a publisher it has not heard of, a long
 * disconnection) and it catches up from the api as before. See docs/architecture.md.
 */

/** What `ready` says the user was last sent, per publishing api process, and which Redis said it. */
export type Marks = {
  /** the Redis instance's run id: marks of another instance (a restart, a failover) are not comparable */
  epoch: string;
  /** publisher id → the newest event's number it published to this user (absent: none) */
  by: Record<string, number>;
};

/**
 * How long a publisher's marks outlive its last event (kit/marks). A client that was away
 * longer than MARKS_TRUSTED_AWAY_MS catches up from the api whatever `ready` says: a publisher
 * that died meanwhile may have taken marks of events it missed with it.
 */
export const MARKS_TTL_MS = 60 * 60_000;
export const MARKS_TRUSTED_AWAY_MS = 30 * 60_000;

/** `<publisher>:<n>` read back; null for anything else. */
export function parseMark(mark: unknown): { publisher: string; n: number } | null {
  if (typeof mark !== "string") return null;
  const cut = mark.lastIndexOf(":");
  const n = Number(mark.slice(cut + 1));
  if (cut <= 0 || !Number.isSafeInteger(n) || n <= 0) return null;
  return { publisher: mark.slice(0, cut), n };
}

export const formatMark = (publisher: string, n: number) => `${publisher}:${n}`;

/**
 * A client's side of the rule (the frontend's store and the benchmark's clients both use it):
 * what it has seen, and whether a `ready` needs a catch-up.
 *
 *   ready(marks, now)  → a token when the client must catch up from the api, null when not
 *   seen(mark)         → each event frame's mark, as it arrives
 *   caughtUp(token)    → the catch-up that `ready` started has completed (every request answered)
 *   alive(now)         → now and then while the socket is ready (the frontend: every 10 s)
 *   down()             → the socket stopped being ready
 *
 * How long it was away is counted from the last moment it knew it was live (its `ready`, or
 * the last `alive`), not from when it noticed the socket close: a laptop that slept for hours
 * notices only when it wakes.
 */
export class MarkBook {
  /** what the client holds everything up to, in `epoch`; null when it is not known to be caught up */
  private held: { epoch: string; by: Map<string, number> } | null = null;
  /** the marks of the `ready` whose catch-up runs, and the events seen live since it */
  private pending: { token: number; epoch: string; by: Map<string, number> } | null = null;
  private tokens = 0;
  /** the socket is ready, and the last moment the client knew it was (0: never) */
  private up = false;
  private liveAt = 0;

  /** Returns a token when the client must catch up (pass it to caughtUp), or null when it has seen everything. */
  ready(marks: Marks | null | undefined, now: number): number | null {
    const away = now - this.liveAt;
    this.up = true;
    this.liveAt = now;
    const held = this.held;
    if (
      marks &&
      held &&
      held.epoch === marks.epoch &&
      away < MARKS_TRUSTED_AWAY_MS &&
      Object.entries(marks.by).every(([p, n]) => (held.by.get(p) ?? 0) >= n)
    ) {
      this.pending = null;
      return null;
    }
    const token = ++this.tokens;
    this.held = null;
    this.pending = marks ? { token, epoch: marks.epoch, by: new Map(Object.entries(marks.by)) } : null;
    return token;
  }

  seen(mark: unknown): void {
    const m = parseMark(mark);
    if (!m) return;
    for (const book of [this.held?.by, this.pending?.by])
      if (book && (book.get(m.publisher) ?? 0) < m.n) book.set(m.publisher, m.n);
  }

  /** The catch-up of the `ready` that gave `token` completed: the client holds everything up to its marks. */
  caughtUp(token: number): void {
    if (this.pending?.token !== token) return;
    this.held = { epoch: this.pending.epoch, by: this.pending.by };
    this.pending = null;
  }

  alive(now: number): void {
    if (this.up) this.liveAt = now;
  }

  down(): void {
    this.up = false;
  }
}
