/**
 * A chat client for reconnect storms that does what the browser does, with the browser's own
 * code where it can run outside a page:
 *  - the socket is the frontend's SocketClient (frontend/src/state/socket-client.ts): the same
 *    reconnect plan (backoff.ts reconnectPlan / unreachablePlan), the same reset of the backoff
 *    after STABLE_AFTER_MS, the same handling of 4001/4003;
 *  - the thread is held with the frontend's pure thread functions (thread.ts);
 *  - on every `ready` it does what FrameHandler does (frames.ts): unless the marks of `ready`
 *    say it missed nothing (contract/marks' MarkBook, fed every event's mark as the store does),
 *    the first page of the conversation list, then, for its open thread, Sync.catchUp (`GET …/messages?after=<last
 *    contiguous seq>&limit=100`, page by page) and, when that page's change head is past the
 *    thread's rev, Sync.catchUpChanges (`GET …/changes?since=<rev>
 *    &limit=100`), one run of each at a time; a live message past a gap starts a catch-up too.
 *    These few request loops are copied from sync.ts, not imported: sync.ts talks to the
 *    page's one `api` client (same origin, cookie), and here thousands of users share a process.
 *
 * What it does not do: the periodic reconcile (every 30 s while the tab is visible), sending,
 * read marks. Each client has one conversation, open (its thread loaded) from the start.
 *
 * Where it connects is a shared Router (the load balancer): the socket and the REST calls go to
 * `router.web`, as a browser's go to its one origin (or the calls to `router.rest`). It records every attempt, every `ready`,
 * and for each `ready` when its catch-up finished and whether it held every message the ledger
 * says was committed before the catch-up asked.
 */
import type { ChangesPage, Message, MessagesPage } from "@parley/contract";
import type { ServerFrame } from "@parley/contract/frames";
import { MarkBook } from "@parley/contract/marks";
import { BACKGROUND_READ_HEADER, CHANGES_PAGE_MAX, PAGE_MAX } from "@parley/contract/limits";
import { OneAtATime } from "../../frontend/src/state/one-at-a-time.ts";
import { SocketClient } from "../../frontend/src/state/socket-client.ts";
import {
  applyChanges,
  confirmMessage,
  emptyThread,
  gapAfter,
  isGap,
  lastContiguousSeq,
  mergeMessages,
  type Thread,
} from "../../frontend/src/state/thread.ts";

/**
 * Where the load balancer sends a browser right now: its socket and its `/api` calls (`rest`,
 * when set, takes the calls elsewhere: an Ingress that routes `/api` straight to the api).
 */
export type Router = { web: string; rest?: string };

/** What the api answered to the senders: a conversation's committed messages, when each was answered. */
export interface Ledger {
  committedBefore(conversationId: string, t: number): readonly { seq: number; id: string }[];
}

/** One socket attempt. `status`: the HTTP status of a refused upgrade (Bun's error message says it). */
export type Attempt = {
  at: number;
  url: string;
  openedAt?: number;
  readyAt?: number;
  closedAt?: number;
  code?: number;
  status?: number;
  error?: string;
};

/** One `ready` and the catch-up it started (none when its marks said nothing was missed: `skipped`). */
export type Readiness = {
  at: number;
  url: string;
  /** the marks said nothing was missed: no request; caught up once it holds every message committed before `at` (they may still be on their way live) */
  skipped?: boolean;
  /** when its messages catch-up sent its first request (what "committed before" is measured from); `at` when skipped */
  requestedAt?: number;
  /** when the list, the messages and the changes catch-ups had all answered (skipped: see above) */
  caughtUpAt?: number;
  ok?: boolean;
  /** messages committed before `requestedAt` not held when the catch-up finished */
  missing?: number;
  failures: string[];
};

export type RequestKind = "list" | "messages" | "changes" | "me";

/** Every client's requests, counted together: kind → status (0: no answer) → count. */
export class RequestStats {
  readonly statuses = new Map<RequestKind, Map<number, number>>();
  readonly latencies = new Map<RequestKind, number[]>();
  inFlight = 0;
  maxInFlight = 0;
  began(): void {
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
  }
  clear(): void {
    this.statuses.clear();
    this.latencies.clear();
    this.maxInFlight = this.inFlight;
  }
  note(kind: RequestKind, status: number, ms: number): void {
    this.inFlight--;
    const byStatus = this.statuses.get(kind) ?? new Map<number, number>();
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    this.statuses.set(kind, byStatus);
    const l = this.latencies.get(kind) ?? [];
    l.push(ms);
    this.latencies.set(kind, l);
  }
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** The client whose SocketClient is constructing its WebSocket right now (see instrumentWebSockets). */
let constructing: StormClient | null = null;

/**
 * Records every WebSocket a StormClient's SocketClient opens, without touching the frontend's
 * code: a subclass of WebSocket stands in for the global one while the clients run. Returns
 * the function that puts the original back.
 */
export function instrumentWebSockets(): () => void {
  const Original = globalThis.WebSocket;
  class Instrumented extends Original {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      const owner = constructing;
      constructing = null;
      owner?.attached(this, String(url));
    }
  }
  globalThis.WebSocket = Instrumented as typeof WebSocket;
  return () => {
    globalThis.WebSocket = Original;
  };
}

/** What became of an attempt, in words: "ready", "HTTP 503 at the upgrade", "closed 1006 after opening"… */
export function attemptOutcome(a: Attempt): string {
  if (a.readyAt !== undefined) return "ready";
  if (a.status !== undefined) return `HTTP ${a.status} at the upgrade`;
  if (a.closedAt === undefined) return "still connecting";
  if (a.openedAt !== undefined) return `closed ${a.code} after opening, before ready`;
  return `closed ${a.code} without opening${a.error ? ` (${a.error})` : ""}`;
}

/** outcome → count */
export function countOutcomes(attempts: readonly Attempt[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of attempts) {
    const o = attemptOutcome(a);
    out[o] = (out[o] ?? 0) + 1;
  }
  return out;
}

const STATUS_IN_ERROR = /status code:? (\d{3})/i;

export class StormClient {
  thread: Thread = { ...emptyThread(), loaded: true };
  readonly attempts: Attempt[] = [];
  readonly readies: Readiness[] = [];
  /** the same message twice over the wire (live and caught up): fine, held once */
  wireDuplicates = 0;
  /** a seq given two different messages: a wrong screen */
  conflicts = 0;
  /** messages first known from a catch-up page (not live) */
  fetched = 0;
  /** 4001 / 4003 / a 401 answer: the browser would show the sign-in page */
  signedOut: string | null = null;
  private readonly socket: SocketClient;
  private readonly messagesCatchUp = new OneAtATime<number | undefined>();
  private readonly changesCatchUp = new OneAtATime<void>();
  /** the change head the last page of the messages catch-up was read at */
  private changeHead: number | undefined;
  private running = false;
  private readonly marks = new MarkBook();
  /** a skipped `ready` waiting until the messages committed before it are held */
  private awaiting: { r: Readiness; committed: readonly { seq: number; id: string }[] } | null = null;

  constructor(
    readonly userId: string,
    private readonly token: string,
    readonly conversationId: string,
    private readonly router: Router,
    private readonly ledger: Ledger,
    private readonly stats: RequestStats,
  ) {
    this.socket = new SocketClient(
      {
        onFrame: (f) => this.onFrame(f),
        onStatus: (status) => {
          // no `alive` ticks: a bench connection lives minutes, well within what marks trust
          if (status !== "online") this.marks.down();
        },
        onSessionExpired: () => this.endSession("socket closed with 4001"),
        onSignedOut: () => this.endSession("socket closed with 4003"),
        onRepeatedFailure: () => void this.checkSession(),
      },
      () => {
        constructing = this;
        return `${this.router.web.replace(/^http/, "ws")}/ws?token=${this.token}`;
      },
    );
  }

  start(): void {
    this.running = true;
    this.socket.start();
  }

  stop(): void {
    this.running = false;
    this.socket.stop();
  }

  /** The highest seq up to which this client holds every message. */
  get contiguous(): number {
    return lastContiguousSeq(this.thread.messages);
  }

  holds(seq: number, id: string): boolean {
    return this.thread.messages.some((m) => m.seq === seq && m.id === id);
  }

  /** Called by the instrumented WebSocket the SocketClient just constructed. */
  attached(ws: WebSocket, url: string): void {
    const attempt: Attempt = { at: performance.now(), url: url.replace(/\?.*$/, "") };
    this.attempts.push(attempt);
    ws.addEventListener("open", () => {
      attempt.openedAt = performance.now();
    });
    ws.addEventListener("error", (e) => {
      const message = (e as ErrorEvent).message ?? "";
      attempt.error = message.replace(/^WebSocket connection to '[^']*' failed: /, "");
      const status = STATUS_IN_ERROR.exec(message)?.[1];
      if (status) attempt.status = Number(status);
    });
    ws.addEventListener("close", (e) => {
      attempt.closedAt = performance.now();
      attempt.code = e.code;
    });
  }

  private onFrame(f: ServerFrame): void {
    if ("mark" in f) this.marks.seen(f.mark);
    if (f.type === "ready") {
      const at = performance.now();
      // the SocketClient hands on frames of its current socket only: the latest attempt
      const attempt = this.attempts.at(-1);
      if (attempt) attempt.readyAt = at;
      const readiness: Readiness = { at, url: this.router.web, failures: [] };
      this.readies.push(readiness);
      const token = this.marks.ready(f.marks, Date.now());
      this.awaiting = null;
      if (token === null) {
        readiness.skipped = true;
        readiness.requestedAt = at;
        this.awaiting = { r: readiness, committed: this.ledger.committedBefore(this.conversationId, at) };
        this.checkAwaiting();
      } else
        void this.afterReady(readiness).then(() => {
          if (readiness.ok && readiness.missing === 0) this.marks.caughtUp(token);
        });
    } else if (f.type === "message") this.onMessage(f.message);
    else if (f.type === "change" && f.change.conversationId === this.conversationId) {
      const next = applyChanges(this.thread, [f.change]);
      this.thread = next;
      if (f.change.rev > next.rev) void this.catchUpChanges().catch(() => undefined);
    }
  }

  /**
   * FrameHandler's `ready`: the list, and every loaded thread's Sync.catchUpAfterReconnect (its
   * messages, then its changes only when the messages' page says the change head is past the
   * thread's rev).
   */
  private async afterReady(r: Readiness): Promise<void> {
    const fail = (what: string) => (e: unknown) => {
      r.failures.push(`${what}: ${(e as Error).message}`);
      return undefined;
    };
    const [, requestedAt] = await Promise.all([
      this.loadConversations().catch(fail("list")),
      (async () => {
        this.changeHead = undefined;
        const first = await this.catchUp().catch(fail("messages"));
        if (this.changeHead === undefined || this.changeHead > this.thread.rev)
          await this.catchUpChanges().catch(fail("changes"));
        return first;
      })(),
    ]);
    r.caughtUpAt = performance.now();
    r.requestedAt = requestedAt;
    r.ok = r.failures.length === 0 && requestedAt !== undefined;
    if (requestedAt !== undefined)
      r.missing = this.ledger
        .committedBefore(this.conversationId, requestedAt)
        .filter((m) => !this.holds(m.seq, m.id)).length;
  }

  /** A skipped `ready` is caught up once every message committed before it is held. */
  private checkAwaiting(): void {
    const a = this.awaiting;
    if (!a?.committed.every((m) => this.holds(m.seq, m.id))) return;
    this.awaiting = null;
    a.r.caughtUpAt = performance.now();
    a.r.ok = true;
    a.r.missing = 0;
  }

  private onMessage(m: Message): void {
    if (m.conversationId !== this.conversationId) return;
    const t = this.thread;
    const held = t.messages.find((x) => x.seq === m.seq);
    if (held) {
      if (held.id === m.id) this.wireDuplicates++;
      else this.conflicts++;
    }
    const gap = isGap(t.messages, m.seq);
    const next = confirmMessage(t, m);
    this.thread = next;
    if (gap || gapAfter(next.messages) !== null) void this.catchUp().catch(() => undefined);
    this.checkAwaiting();
  }

  private mergePage(page: readonly Message[]): void {
    for (const m of page) {
      const held = this.thread.messages.find((x) => x.seq === m.seq);
      if (held && held.id === m.id) this.wireDuplicates++;
      else if (held) this.conflicts++;
      else this.fetched++;
    }
    this.thread = { ...this.thread, messages: mergeMessages(this.thread.messages, page, this.conversationId) };
    this.checkAwaiting();
  }

  private loadConversations(): Promise<void> {
    return this.get("list", "/api/conversations").then(() => undefined);
  }

  /** Sync.catchUp; resolves with when its first request went out. */
  private catchUp(): Promise<number | undefined> {
    return this.messagesCatchUp.run(this.conversationId, async () => {
      let first: number | undefined;
      for (let i = 0; i < 1000; i++) {
        const path = `/api/conversations/${this.conversationId}/messages?after=${this.contiguous}&limit=${PAGE_MAX}`;
        first ??= performance.now();
        const page = (await this.get("messages", path)) as MessagesPage;
        this.mergePage(page.messages);
        this.changeHead = page.rev;
        if (!page.hasMore || !page.messages.length) break;
      }
      return first;
    });
  }

  /** Sync.catchUpChanges. */
  private catchUpChanges(): Promise<void> {
    return this.changesCatchUp.run(this.conversationId, async () => {
      for (let i = 0; i < 1000; i++) {
        const path = `/api/conversations/${this.conversationId}/changes?since=${this.thread.rev}&limit=${CHANGES_PAGE_MAX}`;
        const page = (await this.get("changes", path)) as ChangesPage;
        const next = applyChanges(this.thread, page.changes);
        this.thread = { ...next, rev: Math.max(next.rev, page.rev) };
        if (!page.hasMore) break;
      }
    });
  }

  /** session.ts checkSession: several attempts never got `ready`; a 401 from /api/me signs out. */
  private async checkSession(): Promise<void> {
    await this.get("me", "/api/me").catch(() => undefined);
  }

  private endSession(why: string): void {
    this.signedOut ??= why;
    this.stop();
  }

  /** api-client.ts `call` for a GET: an answer (other than a gateway's 502–504) tells the socket the way is open. */
  private async get(kind: RequestKind, path: string): Promise<unknown> {
    const t0 = performance.now();
    this.stats.began();
    let res: Response;
    try {
      res = await fetch(`${this.router.rest ?? this.router.web}${path}`, {
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: "application/json",
          // the list, messages and changes here are the `ready` handler's catch-up, sent as it does
          ...(kind === "me" ? {} : { [BACKGROUND_READ_HEADER]: "1" }),
        },
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      this.stats.note(kind, 0, performance.now() - t0);
      throw err;
    }
    const body = await res.text();
    this.stats.note(kind, res.status, performance.now() - t0);
    if (this.running && (res.status < 502 || res.status > 504)) this.socket.reachable();
    if (res.status === 401) {
      this.endSession(`${kind} answered 401`);
      throw new HttpError(401);
    }
    if (!res.ok) throw new HttpError(res.status);
    return JSON.parse(body);
  }
}
