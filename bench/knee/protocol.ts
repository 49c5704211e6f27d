/**
 * What bench/fanout-knee.ts and its worker processes (client.ts holds sockets, publisher.ts
 * publishes) agree on: the rooms, how a message is numbered and timed, the IPC messages, and
 * the latency histogram the workers send back instead of every sample.
 */

/** 100 rooms of 10 members; member j of a room is on server process ⌊j·P/10⌋ (5 and 5 on two). */
export const ROOMS = 100;
export const ROOM_SIZE = 10;

export type ServerKind = "socketio" | "elysia-ws" | "bare-bun" | "parley";
export const SERVER_KINDS: readonly ServerKind[] = ["socketio", "elysia-ws", "bare-bun", "parley"];

/** One room as publishers see it: its id (a Parley conversation id for Parley) and its members. */
export type Room = { conversationId: string; members: string[] };

/** One client socket: where it connects, for whom, in which room (index into the rooms). */
export type SocketSpec = { url: string; userId: string; room: number; conversationId: string; token?: string };

/**
 * Message k of run r: seq = r·SEQ_RUN + k, to room k mod ROOMS, scheduled at start + k·1000/R
 * (epoch ms, carried in the message body). Messages k < warmup are delivered but not counted.
 */
export const SEQ_RUN = 10_000_000;
export type RunPlan = { runId: number; rate: number; start: number; warmup: number; total: number };
export const scheduledAt = (plan: RunPlan, k: number) => plan.start + (k * 1000) / plan.rate;

/**
 * The one clock of every process: epoch milliseconds with sub-millisecond resolution. Bun's
 * `process.hrtime` starts at each process's own start, so it cannot be compared across processes.
 */
export const epochNow = () => performance.timeOrigin + performance.now();

// ---------- IPC ----------
export type ToClient =
  | { op: "open"; kind: ServerKind; sockets: SocketSpec[]; concurrency: number }
  | { op: "arm"; plan: RunPlan }
  | { op: "count" }
  | { op: "collect" }
  | { op: "clock" }
  | { op: "close" };

export type ClientTally = {
  /** measured deliveries expected by this worker's sockets */
  expected: number;
  /** first receipt of a measured message by a socket */
  unique: number;
  duplicates: number;
  /** a message for a room the socket is not in */
  misrouted: number;
  /** a message of an earlier run */
  stray: number;
  /** receipts timed before their schedule (clock disagreement), counted as 0 ms */
  early: number;
  /** sockets the server closed since they opened */
  closed: number;
  maxMs: number;
  histogram: number[];
};

export type FromClient =
  | { op: "opened"; seconds: number }
  | { op: "armed" }
  | { op: "count"; unique: number; expected: number }
  | ({ op: "collected" } & ClientTally)
  | { op: "clock"; t: number }
  | { op: "error"; message: string };

export type PublisherSetup = { kind: ServerKind; redisUrl: string; rooms: Room[] };
export type ToPublisher =
  | ({ op: "setup" } & PublisherSetup)
  | { op: "publish"; plan: RunPlan; shard: number; shards: number }
  | { op: "clock" }
  | { op: "close" };
export type FromPublisher =
  | { op: "ready" }
  | { op: "clock"; t: number }
  | { op: "published"; count: number; lagHistogram: number[]; lagMaxMs: number }
  | { op: "error"; message: string };

// ---------- latency histogram: buckets 1 % wide from 0.01 ms up ----------
const BASE_MS = 0.01;
const GROWTH = Math.log(1.01);
export const BUCKETS = 2000; // up to 0.01·1.01^2000 ms ≈ 4·10^6 ms

export const newHistogram = () => new Array<number>(BUCKETS).fill(0);

export function bucketOf(ms: number): number {
  if (ms <= BASE_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BASE_MS) / GROWTH));
}

export function mergeInto(into: number[], from: readonly number[]): number[] {
  for (let i = 0; i < BUCKETS; i++) into[i]! += from[i] ?? 0;
  return into;
}

/** The q-quantile (upper edge of its bucket: at most 1 % above the true value); NaN when empty. */
export function histogramQuantile(h: readonly number[], q: number): number {
  const n = h.reduce((a, b) => a + b, 0);
  if (n === 0) return Number.NaN;
  const rank = Math.min(n, Math.max(1, Math.ceil(q * n)));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += h[i]!;
    if (seen >= rank) return BASE_MS * Math.exp(i * GROWTH);
  }
  return Number.NaN;
}
