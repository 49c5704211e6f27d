/**
 * One open socket as fan-out sees it: who it belongs to, and the only way frames are written
 * to it, so the slow-client policy lives in one place. The /ws route creates it; LocalUsers
 * delivers through it.
 */
import type { ServerWebSocket } from "bun";
import type { ErrorFrame, ReadyFrame, ServerFrame } from "@parley/contract/frames";
import { CLOSE_CODES, WS_INBOUND } from "@parley/contract/limits";
import type { Flushable, Outgoing, TurnOutbox } from "./outbox.ts";

/**
 * Socket buffering thresholds (bytes queued in the kernel + Bun for one socket). Above SOFT,
 * typing and presence frames are dropped (they are ephemeral); above HARD the socket is closed
 * with 4002 so one slow reader cannot grow memory without bound. Bun's own limit sits above
 * HARD only as a last resort (it closes without our code).
 */
export const BACKPRESSURE = {
  soft: 64 * 1024,
  hard: 1024 * 1024,
  bunLimit: 4 * 1024 * 1024,
} as const;

type FrameType = ServerFrame["type"];
/** Ephemeral frames a lagging client loses first; everything else can be refetched over REST. */
const DROPPABLE: ReadonlySet<FrameType> = new Set(["typing", "presence"]);

/** The longest delay setTimeout holds (2^31-1 ms, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds to wait before checking the token's expiry (`exp` in seconds) again; 0 = expired now. */
export const expiryDelay = (tokenExp: number, nowMs: number): number =>
  Math.min(Math.max(tokenExp * 1000 - nowMs, 0), MAX_TIMER_MS);

let nextId = 1;
const EARLY_MAX = 1000;
/** Frames dropped in a row (over the inbound limit, none accepted between) before the socket is closed. */
const STRIKES_MAX = 50;
/** Error frames one socket may hear: a few in a row, then one a second; the others are dropped. */
const ERRORS = { burst: 3, perSecond: 1 } as const;

/** What an inbound frame gets: handled, dropped (over the limit), or the socket is closed. */
export type Admission = "ok" | "dropped" | "closed";

/** Which session of its user a socket belongs to (what signing out revokes). */
export type SessionRef = { sid: string; startedAt: number };

export class Session implements Flushable {
  readonly id = nextId++;
  private closed = false;
  /** frames that arrived before `ready` was sent (the SUBSCRIBE reply and the first event can
   * come in one read from Redis); flushed right after `ready`, so `ready` is always first */
  private early: Outgoing[] | null = [];
  /** a frame that came before `ready` was dropped (more than EARLY_MAX) */
  private lostEarly = false;
  /** frames delivered this turn, written at its end (null: none; the socket is not in the outbox) */
  private queued: Outgoing[] | null = null;
  /** inbound token bucket (WS_INBOUND) and the frames dropped in a row */
  private tokens: number = WS_INBOUND.burst;
  private refilledAt = Date.now();
  private strikes = 0;
  private errorTokens: number = ERRORS.burst;
  private errorsRefilledAt = Date.now();
  readonly sid: string;
  readonly startedAt: number;

  constructor(
    readonly userId: string,
    private readonly raw: ServerWebSocket<unknown>,
    /** where the socket's frames wait for the end of the turn (the replica's one outbox) */
    private readonly outbox: TurnOutbox,
    /** token expiry, seconds since epoch (the replica's ExpiryWheel closes the socket then) */
    readonly tokenExp: number | undefined,
    ref: SessionRef = { sid: "", startedAt: 0 },
  ) {
    this.sid = ref.sid;
    this.startedAt = ref.startedAt;
  }

  /**
   * Counts one frame from the client against WS_INBOUND. Over the limit it is dropped (and the
   * client hears so, within the error frames' own limit); a client that keeps sending regardless is closed
   * with 1008, so a flood costs the server a counter, not work or answers.
   */
  admit(now = Date.now()): Admission {
    this.tokens = Math.min(WS_INBOUND.burst, this.tokens + ((now - this.refilledAt) * WS_INBOUND.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.strikes = 0;
      return "ok";
    }
    if (++this.strikes > STRIKES_MAX) {
      this.close(CLOSE_CODES.policy, "too many frames");
      return "closed";
    }
    this.sendError("rate_limited", "too many frames; this one was dropped", now);
    return "dropped";
  }

  /** An error frame, within ERRORS (bad frames earn no flood of answers). */
  sendError(code: ErrorFrame["code"], message: string, now = Date.now()): void {
    this.errorTokens = Math.min(
      ERRORS.burst,
      this.errorTokens + ((now - this.errorsRefilledAt) * ERRORS.perSecond) / 1000,
    );
    this.errorsRefilledAt = now;
    if (this.errorTokens < 1) {
      this.metrics.droppedFrames.inc({ type: "error", reason: "error_limit" });
      return;
    }
    this.errorTokens -= 1;
    this.send({ type: "error", code, message });
  }

  /**
   * Queues an already serialized frame (an event's delivery is one object for all its recipients);
   * it is written at the end of this turn with the socket's other frames of the turn (outbox.ts).
   */
  deliver(frame: Outgoing): void {
    if (this.closed) return;
    if (this.early) {
      if (this.early.length < EARLY_MAX) this.early.push(frame);
      else {
        this.metrics.droppedFrames.inc({ type: frame.type, reason: "before_ready" });
        this.lostEarly = true;
      }
      return;
    }
    if (!this.queued) {
      this.queued = [];
      this.outbox.add(this);
    }
    this.queued.push(frame);
  }

  /**
   * Writes the frames queued this turn, in one write. The slow-client policy is checked once for
   * them all: past HARD the socket is closed with 4002, past SOFT its ephemeral frames are dropped.
   */
  flush(): void {
    const frames = this.queued;
    this.queued = null;
    if (!frames) return;
    if (this.closed) {
      for (const f of frames) this.metrics.droppedFrames.inc({ type: f.type, reason: "closed" });
      return;
    }
    const buffered = this.raw.getBufferedAmount();
    if (buffered > BACKPRESSURE.hard) {
      this.metrics.slowClientCloses.inc();
      for (const f of frames) this.metrics.droppedFrames.inc({ type: f.type, reason: "slow_client" });
      this.close(CLOSE_CODES.tooSlow, "too slow");
      return;
    }
    const lagging = buffered > BACKPRESSURE.soft;
    if (frames.length === 1) this.write(frames[0] as Outgoing, lagging);
    else
      this.raw.cork(() => {
        for (const f of frames) this.write(f, lagging);
      });
  }

  private write(frame: Outgoing, lagging: boolean): void {
    if (lagging && DROPPABLE.has(frame.type)) {
      this.metrics.droppedFrames.inc({ type: frame.type, reason: "backpressure" });
      return;
    }
    if (this.raw.send(frame.text) === 0) {
      this.metrics.droppedFrames.inc({ type: frame.type, reason: "closed" });
      return;
    }
    this.outbox.wrote(frame);
  }

  /**
   * Sends `ready`, then whatever arrived meanwhile; from now on frames are written as they come
   * (at the turn's end). When some of what arrived had to be dropped, `ready` says the marks are
   * unknown, so the client catches up.
   */
  ready(frame: ReadyFrame): void {
    const early = this.early ?? [];
    this.early = null;
    this.send(this.lostEarly ? { ...frame, marks: null } : frame);
    for (const f of early) this.deliver(f);
  }

  send(frame: ServerFrame): void {
    this.deliver({ type: frame.type, text: JSON.stringify(frame) });
  }

  private get metrics() {
    return this.outbox.metrics;
  }

  /** Closes the socket after the frames queued before (except when it is closed for being too slow). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    if (code !== CLOSE_CODES.tooSlow) this.flush();
    if (this.closed) return; // the flush found it too slow and closed it
    this.markClosed();
    try {
      this.raw.close(code, reason);
    } catch {
      // already closing
    }
  }

  /** Called when the socket is gone, whoever closed it. */
  markClosed(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
