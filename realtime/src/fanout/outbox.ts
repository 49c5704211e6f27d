/**
 * Frames for a socket are written at the end of the event-loop turn they were delivered in, all
 * of that turn's frames for one socket in one write (one syscall) instead of one write each.
 *
 * Why: a replica's time under load is the kernel write per frame (58–72 % of its JavaScript
 * thread in `ws.send`, profiled at the fan-out knee). When it falls behind, Redis hands it more
 * events per read, so a socket gets several frames per turn, and writing them together costs
 * one syscall instead of several: what uWS does for Bun's native topics, which the bare baseline
 * server uses. What it costs and saves (bench/socket-writes.ts, results/socket-writes.md: one
 * Bun.serve, 500 sockets in rooms of 5, 60,000 frames/s arriving in turns): with turns 50 ms
 * apart (6 frames per socket per turn) this path took 15 % of a core where a `ws.send` per frame
 * took 65 % (Bun's topics: 22 % per socket topic, 14 % per room topic); 10 ms apart (about one
 * frame per socket per turn) 63 % against 69 %; 1 ms apart 76 % against 67 %: with nothing to
 * coalesce, the queue and its bookkeeping cost ~2 µs a frame. In the fan-out knee, back-to-back
 * against the code that wrote each frame at once, the replicas used about a tenth less CPU at
 * 3,000 messages/s and their p99 grew more slowly past the knee (bench/README.md).
 * The wait adds no timer: the turn ends as soon as the events that arrived together are handled.
 *
 * The writes' metrics are counted here in plain numbers and handed to prom-client once per turn
 * (its labelled `inc`/`observe` hash their labels on every call: a tenth of a busy replica's
 * JavaScript when done per frame); an event's latency is observed once per replica, however
 * many of its sockets it went to.
 */
import type { ServerFrame } from "@parley/contract/frames";
import type { Logger } from "@parley/kit/log";
import type { RealtimeMetrics } from "../libs/metrics.ts";

/**
 * A serialized frame on its way to sockets. An event's delivery (contract FanoutDelivery) is one
 * object shared by all its recipients here; `committedAt` (ms) is set for events.
 */
export type Outgoing = { type: ServerFrame["type"]; text: string; committedAt?: number };

export interface Flushable {
  /** writes the frames queued since the last flush */
  flush(): void;
}

export class TurnOutbox {
  private due: Flushable[] = [];
  private scheduled = false;
  private readonly written = new Map<Outgoing["type"], number>();
  /** events written this turn, each observed once */
  private readonly events = new Set<Outgoing>();

  constructor(
    readonly metrics: RealtimeMetrics,
    private readonly log: Logger,
  ) {}

  /** `target` has frames queued: it is flushed once, at the end of this turn. */
  add(target: Flushable): void {
    this.due.push(target);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushAll);
  }

  /** A frame was written to a socket (said by a target while it flushes). */
  wrote(frame: Outgoing): void {
    this.written.set(frame.type, (this.written.get(frame.type) ?? 0) + 1);
    if (frame.committedAt !== undefined) this.events.add(frame);
  }

  /** Flushes every target queued so far, in the order they were first queued, then counts the writes. */
  readonly flushAll = (): void => {
    this.scheduled = false;
    const due = this.due;
    this.due = [];
    for (const target of due) {
      try {
        target.flush();
      } catch (err) {
        // one socket's failure must not keep the others' frames from them
        this.log.error({ err: (err as Error).message }, "writing a socket's frames failed");
      }
    }
    for (const [type, n] of this.written) this.metrics.delivered.inc({ type }, n);
    this.written.clear();
    const now = Date.now();
    for (const e of this.events)
      this.metrics.fanoutLatency.observe({ type: e.type }, Math.max(0, now - (e.committedAt ?? now)) / 1000);
    this.events.clear();
  };
}
