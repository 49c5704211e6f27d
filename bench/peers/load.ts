/**
 * The load shape both realtime services get in bench/peers/compare.ts, and the process figures
 * read from /proc. A service is reached only through a `Target`, so Parley and its peer see the
 * very same sequence: open N idle sockets, sit idle, publish at a fixed rate, drain.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

/** One realtime service under test, seen from the bench process. */
export type Target = {
  name: string;
  /** the server processes whose memory and CPU are counted (not the bench, not the api) */
  serverPids: number[];
  redisPid: number | undefined;
  /** opens socket `i` for `userId`; resolves once the server said it is ready; returns a closer */
  open(i: number, userId: string, onMessage: (seq: number, sentAtMs: number) => void): Promise<() => void>;
  /** publishes one message event to `userId`'s channel/room; `body` carries the publish time */
  publish(userId: string, seq: number, body: string): Promise<unknown>;
  /** Redis pub/sub bookkeeping after the sockets are open: channels and patterns subscribed */
  redisSubscriptions(): Promise<{ channels: number; patterns: number }>;
};

export type Shape = {
  processes: number;
  sockets: number;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  idleSeconds: number;
  settleSeconds: number;
};

/** cpuTicks = utime + stime; kernelTicks = stime (time in system calls, on the process's behalf) */
export type ProcFigures = { rssKiB: number; cpuTicks: number; kernelTicks: number };

export const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

/** VmRSS (KiB), utime+stime and stime (clock ticks) of one process, from /proc. */
export function procFigures(pid: number): ProcFigures {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKiB = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1] ?? NaN);
  // Fields after the parenthesised command name (which may contain spaces): state is field 3,
  // utime field 14, stime field 15.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  return { rssKiB, cpuTicks, kernelTicks: Number(rest[12]) };
}

const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const sum = (pids: number[], f: (p: ProcFigures) => number) => pids.reduce((s, pid) => s + f(procFigures(pid)), 0);
const cpuMs = (pids: number[]) => (sum(pids, (p) => p.cpuTicks) * 1000) / CLK_TCK;

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Deterministic user ids (24 hex digits, like Parley's ObjectIds) for socket i. */
export const userIdOf = (run: string, i: number) =>
  (run + i.toString(16).padStart(8, "0")).padStart(24, "0").slice(-24);

export type Result = {
  name: string;
  rssBeforeKiB: number[];
  rssAfterKiB: number[];
  rssAfterIdleKiB: number[];
  kibPerSocket: number;
  kibPerSocketAfterIdle: number;
  openSeconds: number;
  idleCpuMsPerSecond: number;
  idleRedisCpuMsPerSecond: number;
  published: number;
  delivered: number;
  publishSeconds: number;
  p50: number;
  p99: number;
  max: number;
  serverCpuMsPer1000: number;
  redisCpuMsPer1000: number;
  /** events addressed to users with no socket on any process */
  offline: { published: number; serverCpuMsPer1000: number; redisCpuMsPer1000: number };
  subscriptions: { channels: number; patterns: number };
  load: { before: number; after: number };
};

/** Runs the shape against one target; every wait is bounded. */
export async function runShape(target: Target, shape: Shape, runTag: string): Promise<Result> {
  const pids = target.serverPids;
  const redis = target.redisPid === undefined ? [] : [target.redisPid];
  const loadBefore = loadavg()[0]!;
  const log = (m: string) => console.error(`[${target.name}] ${m}`);

  // Let start-up garbage be collected before the baseline: V8 and JSC shrink the heap only some
  // seconds after the last burst of allocation, and a baseline taken earlier is inflated.
  await Bun.sleep(shape.settleSeconds * 1000);
  const rssBeforeKiB = pids.map((p) => procFigures(p).rssKiB);

  // Open N sockets, 50 at a time, round-robin over the server processes.
  const users = Array.from({ length: shape.sockets }, (_, i) => userIdOf(runTag, i));
  const latencies: number[] = [];
  let countFromSeq = Infinity; // warm-up events are delivered but not counted
  let delivered = 0;
  const onMessage = (seq: number, sentAtMs: number) => {
    if (seq < countFromSeq) return;
    delivered++;
    latencies.push(performance.now() - sentAtMs);
  };
  const closers: (() => void)[] = [];
  const t0 = performance.now();
  for (let i = 0; i < users.length; i += 50) {
    const batch = users.slice(i, i + 50).map((u, k) => target.open(i + k, u, onMessage));
    closers.push(...(await Promise.all(batch)));
  }
  const openSeconds = (performance.now() - t0) / 1000;
  log(`${closers.length} sockets ready in ${openSeconds.toFixed(1)} s`);
  const subscriptions = await target.redisSubscriptions();

  // Idle: memory after the sockets settled, and what holding them costs in CPU.
  await Bun.sleep(3000);
  const rssAfterKiB = pids.map((p) => procFigures(p).rssKiB);
  const idle0 = { s: cpuMs(pids), r: cpuMs(redis), t: performance.now() };
  await Bun.sleep(shape.idleSeconds * 1000);
  const idleSeconds = (performance.now() - idle0.t) / 1000;
  const idleCpuMsPerSecond = (cpuMs(pids) - idle0.s) / idleSeconds;
  const rssAfterIdleKiB = pids.map((p) => procFigures(p).rssKiB);
  const idleRedisCpuMsPerSecond = (cpuMs(redis) - idle0.r) / idleSeconds;

  // Publish at a fixed rate: warm-up (not counted), then the measured run.
  let seq = 0;
  const publishAt = async (rate: number, seconds: number, to: string[] = users) => {
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let n = 0; n < total; n++) {
      const wait = start + (n * 1000) / rate - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      // a stride co-prime with N spreads consecutive events over users and processes
      const user = to[(n * 7919) % to.length]!;
      pending.push(target.publish(user, ++seq, String(performance.now())));
    }
    await Promise.all(pending);
    return { total, seconds: (performance.now() - start) / 1000 };
  };
  log(`warm-up: ${shape.rate}/s for ${shape.warmupSeconds} s`);
  await publishAt(shape.rate, shape.warmupSeconds);
  await Bun.sleep(500);

  log(`measured: ${shape.rate}/s for ${shape.seconds} s`);
  countFromSeq = seq + 1;
  const cpu0 = { s: cpuMs(pids), r: cpuMs(redis) };
  const run = await publishAt(shape.rate, shape.seconds);
  const drainUntil = Date.now() + 10_000;
  while (delivered < run.total && Date.now() < drainUntil) await Bun.sleep(20);
  const cpu1 = { s: cpuMs(pids), r: cpuMs(redis) };
  log(`${delivered}/${run.total} delivered`);

  // Events for users with no socket anywhere (in a chat, most recipients are offline at any
  // moment): what does each design spend on an event nobody here will receive?
  const offline = Array.from({ length: shape.sockets }, (_, i) => userIdOf(`${runTag}ff`, i));
  const offlineSeconds = shape.seconds;
  log(`offline recipients: ${shape.rate}/s for ${offlineSeconds} s`);
  const off0 = { s: cpuMs(pids), r: cpuMs(redis) };
  const offRun = await publishAt(shape.rate, offlineSeconds, offline);
  await Bun.sleep(200);
  const off1 = { s: cpuMs(pids), r: cpuMs(redis) };

  for (const close of closers) close();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    name: target.name,
    rssBeforeKiB,
    rssAfterKiB,
    rssAfterIdleKiB,
    kibPerSocket: (total(rssAfterKiB) - total(rssBeforeKiB)) / shape.sockets,
    kibPerSocketAfterIdle: (total(rssAfterIdleKiB) - total(rssBeforeKiB)) / shape.sockets,
    openSeconds,
    idleCpuMsPerSecond,
    idleRedisCpuMsPerSecond,
    published: run.total,
    delivered,
    publishSeconds: run.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? NaN,
    serverCpuMsPer1000: ((cpu1.s - cpu0.s) * 1000) / run.total,
    redisCpuMsPer1000: ((cpu1.r - cpu0.r) * 1000) / run.total,
    offline: {
      published: offRun.total,
      serverCpuMsPer1000: ((off1.s - off0.s) * 1000) / offRun.total,
      redisCpuMsPer1000: ((off1.r - off0.r) * 1000) / offRun.total,
    },
    subscriptions,
    load: { before: loadBefore, after: loadavg()[0]! },
  };
}

/** Waits (at most `maxSeconds`) for the 1-minute load average to fall below `threshold`. */
export async function waitForQuietMachine(
  threshold: number,
  maxSeconds: number,
): Promise<{ load: number; waited: number }> {
  const start = Date.now();
  while (loadavg()[0]! >= threshold && Date.now() - start < maxSeconds * 1000) await Bun.sleep(5000);
  return { load: loadavg()[0]!, waited: Math.round((Date.now() - start) / 1000) };
}
