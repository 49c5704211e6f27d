/**
 * A client worker of bench/fanout-knee.ts (a Bun process of its own, spawned with IPC): holds
 * its share of the sockets, checks every delivery (its run, its room, first time or duplicate)
 * and times it against the message's schedule, and sends back counts and a latency histogram
 * when asked. Several of these spread the client side over the cores, so the load generator is
 * not what limits the servers.
 */
import type { ServerFrame } from "@parley/contract/frames";
import { loadSocketIoDriver } from "../peers/servers.ts";
import {
  bucketOf,
  epochNow,
  newHistogram,
  ROOMS,
  SEQ_RUN,
  type ClientTally,
  type FromClient,
  type RunPlan,
  type ServerKind,
  type SocketSpec,
  type ToClient,
} from "./protocol.ts";

type Sock = { spec: SocketSpec; seen: Uint8Array; close(): void };

const send = (m: FromClient): void => {
  process.send?.(m);
};
const sockets: Sock[] = [];
let plan: RunPlan = { runId: -1, rate: 1, start: 0, warmup: 0, total: 0 };
let tally: ClientTally = emptyTally();
let closedByServer = 0;
let closing = false;

function emptyTally(): ClientTally {
  return {
    expected: 0,
    unique: 0,
    duplicates: 0,
    misrouted: 0,
    stray: 0,
    early: 0,
    closed: 0,
    maxMs: 0,
    histogram: newHistogram(),
  };
}

function received(s: Sock, seq: number, scheduledMs: number, at: number): void {
  if (Math.floor(seq / SEQ_RUN) !== plan.runId) {
    tally.stray++;
    return;
  }
  const k = seq % SEQ_RUN;
  if (k % ROOMS !== s.spec.room) {
    tally.misrouted++;
    return;
  }
  if (k < plan.warmup) return;
  const i = (k - s.spec.room) / ROOMS;
  if (s.seen[i]) {
    tally.duplicates++;
    return;
  }
  s.seen[i] = 1;
  tally.unique++;
  let ms = at - scheduledMs;
  if (ms < 0) {
    tally.early++;
    ms = 0;
  }
  if (ms > tally.maxMs) tally.maxMs = ms;
  tally.histogram[bucketOf(ms)]!++;
}

/**
 * A message frame as text, read without a full JSON.parse (the fields come in the order
 * messageFrame writes them): `{"type":"message","message":{…,"seq":N,…,"body":"<ms>",…`.
 */
function receivedText(s: Sock, text: string): void {
  const at = epochNow();
  if (!text.startsWith('{"type":"message"')) return; // ready, presence
  const i = text.indexOf('"seq":');
  const j = text.indexOf(",", i);
  const b = text.indexOf('"body":"', j);
  const seq = Number(text.slice(i + 6, j));
  const scheduled = Number(text.slice(b + 8, text.indexOf('"', b + 8)));
  if (i >= 0 && b >= 0 && Number.isFinite(seq) && Number.isFinite(scheduled)) {
    received(s, seq, scheduled, at);
    return;
  }
  const f = JSON.parse(text) as ServerFrame;
  if (f.type === "message") received(s, f.message.seq, Number(f.message.body), at);
}

function openWebSocket(url: string, spec: SocketSpec): Promise<Sock> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const s: Sock = { spec, seen: new Uint8Array(0), close: () => ws.close() };
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`socket of ${spec.userId} not ready after 10 s`)), 10_000);
    ws.onmessage = (e) => {
      if (ready) return receivedText(s, e.data as string);
      if ((e.data as string).startsWith('{"type":"ready"')) {
        ready = true;
        clearTimeout(timer);
        resolve(s);
      }
    };
    ws.onerror = () => reject(new Error(`socket of ${spec.userId} failed`));
    ws.onclose = () => {
      if (ready && !closing) closedByServer++;
    };
  });
}

async function openSocket(kind: ServerKind, spec: SocketSpec): Promise<Sock> {
  if (kind === "parley") return openWebSocket(`${spec.url}/ws?token=${spec.token}`, spec);
  if (kind === "socketio") {
    const driver = await loadSocketIoDriver();
    const s: Sock = { spec, seen: new Uint8Array(0), close: () => {} };
    const onFrame = (f: ServerFrame) => {
      const at = epochNow();
      if (f.type === "message") received(s, f.message.seq, Number(f.message.body), at);
    };
    const io = await driver.openSocket(spec.url, spec.userId, onFrame, 10_000, [spec.conversationId]);
    s.close = () => io.close();
    return s;
  }
  return openWebSocket(`${spec.url}/ws?user=${spec.userId}&room=${spec.conversationId}`, spec);
}

async function handle(m: ToClient): Promise<void> {
  switch (m.op) {
    case "open": {
      const t0 = performance.now();
      for (let i = 0; i < m.sockets.length; i += m.concurrency)
        sockets.push(...(await Promise.all(m.sockets.slice(i, i + m.concurrency).map((s) => openSocket(m.kind, s)))));
      return send({ op: "opened", seconds: (performance.now() - t0) / 1000 });
    }
    case "arm": {
      plan = m.plan;
      tally = emptyTally();
      const perRoom = Math.ceil(plan.total / ROOMS);
      for (const s of sockets) {
        s.seen = new Uint8Array(perRoom);
        // measured messages of this socket's room: k in [warmup, total) with k ≡ room (mod ROOMS)
        const first = Math.ceil((plan.warmup - s.spec.room) / ROOMS);
        const last = Math.ceil((plan.total - s.spec.room) / ROOMS);
        tally.expected += Math.max(0, last - Math.max(0, first));
      }
      return send({ op: "armed" });
    }
    case "count":
      return send({ op: "count", unique: tally.unique, expected: tally.expected });
    case "collect":
      return send({ op: "collected", ...tally, closed: closedByServer });
    case "clock":
      return send({ op: "clock", t: epochNow() });
    case "close":
      closing = true;
      for (const s of sockets) s.close();
      await Bun.sleep(200);
      process.exit(0);
  }
}

process.on("message", (m: ToClient) => {
  handle(m).catch((err: Error) => {
    send({ op: "error", message: err.message });
  });
});
