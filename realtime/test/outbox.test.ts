/**
 * Frames written at the end of the turn (fanout/outbox.ts): a socket's frames of one turn go out
 * in one corked write, in the order delivered; the slow-client policy applies to them as a whole;
 * metrics are counted once per turn and an event's latency once however many sockets it reached.
 * Pure logic: sockets are stand-ins that record what Bun would be asked to do.
 */
import { describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { CLOSE_CODES } from "@parley/contract/limits";
import { createLogger } from "@parley/kit/log";
import { type Outgoing, TurnOutbox } from "../src/fanout/outbox.ts";
import { BACKPRESSURE, Session } from "../src/fanout/session.ts";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";

const log = createLogger("outbox-test", "silent");

/** What a socket was asked to do: its writes, grouped by the cork (one syscall) they went out in. */
type Recorded = { writes: string[][]; closes: number[]; buffered: number };

function fakeSocket(rec: Recorded) {
  let corked: string[] | null = null;
  return {
    send(text: string) {
      if (corked) corked.push(text);
      else rec.writes.push([text]);
      return text.length;
    },
    cork(write: () => void) {
      corked = [];
      write();
      rec.writes.push(corked);
      corked = null;
    },
    getBufferedAmount: () => rec.buffered,
    close: (code: number) => rec.closes.push(code),
  } as unknown as ServerWebSocket<unknown>;
}

function setup() {
  const metrics = createRealtimeMetrics();
  const outbox = new TurnOutbox(metrics, log);
  /** a socket past `ready`, whose buffer then holds `buffered` bytes */
  const open = (buffered = 0) => {
    const rec: Recorded = { writes: [], closes: [], buffered: 0 };
    const session = new Session("u".repeat(24), fakeSocket(rec), outbox, undefined);
    session.ready({ type: "ready", userId: "u".repeat(24) });
    outbox.flushAll();
    rec.writes.length = 0;
    rec.buffered = buffered;
    return { session, rec };
  };
  /** the value of the series of `name` whose labels include every one of `labels` */
  const value = async (name: string, ...labels: string[]) => {
    const text = await metrics.registry.metrics();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
    return line ? Number(line.split(" ").at(-1)) : 0;
  };
  return { outbox, open, value };
}

const event = (seq: number, committedAt = Date.now()): Outgoing => ({
  type: "message",
  text: JSON.stringify({ type: "message", seq }),
  committedAt,
});

describe("frames written at the end of the turn", () => {
  test("a socket's frames of one turn go out together, in order; nothing is written before the turn ends", async () => {
    const { outbox, open } = setup();
    const { session, rec } = open();
    const [a, b, c] = [event(1), event(2), event(3)];
    session.deliver(a);
    session.deliver(b);
    session.deliver(c);
    expect(rec.writes).toEqual([]);
    outbox.flushAll();
    expect(rec.writes).toEqual([[a.text, b.text, c.text]]);
    // the next turn's frame is a write of its own
    session.deliver(event(4));
    outbox.flushAll();
    expect(rec.writes).toHaveLength(2);
    // and with no frames the end of a turn writes nothing
    outbox.flushAll();
    expect(rec.writes).toHaveLength(2);
  });

  test("the turn ends by itself: frames delivered now are written without anyone flushing", async () => {
    const { open } = setup();
    const { session, rec } = open();
    session.deliver(event(1));
    session.deliver(event(2));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(rec.writes.flat()).toHaveLength(2);
  });

  test("`ready` comes first, then the frames that arrived before it, in one write", async () => {
    const { outbox } = setup();
    const rec: Recorded = { writes: [], closes: [], buffered: 0 };
    const session = new Session("u".repeat(24), fakeSocket(rec), outbox, undefined);
    const early = event(1);
    session.deliver(early);
    outbox.flushAll();
    expect(rec.writes).toEqual([]);
    session.ready({ type: "ready", userId: "u".repeat(24) });
    outbox.flushAll();
    expect(rec.writes).toHaveLength(1);
    expect(rec.writes[0]?.map((t) => JSON.parse(t).type)).toEqual(["ready", "message"]);
  });

  test("past the soft limit the turn's typing and presence frames are dropped, the others written", async () => {
    const { outbox, open, value } = setup();
    const { session, rec } = open(BACKPRESSURE.soft + 1);
    const typing: Outgoing = { type: "typing", text: '{"type":"typing"}' };
    const message = event(1);
    session.deliver(typing);
    session.deliver(message);
    outbox.flushAll();
    expect(rec.writes.flat()).toEqual([message.text]);
    expect(await value("realtime_dropped_frames_total", 'reason="backpressure"')).toBe(1);
  });

  test("past the hard limit the socket is closed with 4002 and the turn's frames dropped", async () => {
    const { outbox, open, value } = setup();
    const { session, rec } = open(BACKPRESSURE.hard + 1);
    session.deliver(event(1));
    session.deliver(event(2));
    outbox.flushAll();
    expect(rec.writes).toEqual([]);
    expect(rec.closes).toEqual([CLOSE_CODES.tooSlow]);
    expect(await value("realtime_dropped_frames_total", 'reason="slow_client"')).toBe(2);
    expect(session.isClosed).toBe(true);
  });

  test("a socket closed by the server gets the frames queued before the close first", async () => {
    const { open } = setup();
    const { session, rec } = open();
    const last = event(1);
    session.deliver(last);
    session.close(CLOSE_CODES.serviceRestart, "resync");
    expect(rec.writes).toEqual([[last.text]]);
    expect(rec.closes).toEqual([CLOSE_CODES.serviceRestart]);
  });

  test("a socket the client closed before the turn ended gets nothing, counted as dropped", async () => {
    const { outbox, open, value } = setup();
    const { session, rec } = open();
    session.deliver(event(1));
    session.markClosed();
    outbox.flushAll();
    expect(rec.writes).toEqual([]);
    expect(await value("realtime_dropped_frames_total", 'reason="closed"')).toBe(1);
  });

  test("writes are counted per frame; an event's latency is observed once however many sockets it reached", async () => {
    const { outbox, open, value } = setup();
    const sockets = [open(), open(), open()];
    const shared = event(1, Date.now() - 30);
    for (const { session } of sockets) session.deliver(shared);
    sockets[0]?.session.deliver(event(2));
    outbox.flushAll();
    expect(await value("realtime_events_delivered_total", 'type="message"')).toBe(4);
    expect(await value("realtime_fanout_latency_seconds_count", 'type="message"')).toBe(2);
    // (cumulative buckets) the fresh event is within 25 ms, the 30 ms old one only within 50 ms
    expect(await value("realtime_fanout_latency_seconds_bucket", 'le="0.025"', 'type="message"')).toBe(1);
    expect(await value("realtime_fanout_latency_seconds_bucket", 'le="0.05"', 'type="message"')).toBe(2);
  });

  test("one socket whose write throws does not keep the others' frames from them", async () => {
    const { outbox, open } = setup();
    const broken = open();
    const fine = open();
    (broken.session as unknown as { raw: { send: () => never } }).raw.send = () => {
      throw new Error("boom");
    };
    broken.session.deliver(event(1));
    fine.session.deliver(event(1));
    outbox.flushAll();
    expect(fine.rec.writes.flat()).toHaveLength(1);
  });
});
