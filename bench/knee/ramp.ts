/**
 * The knee search of bench/fanout-knee.ts: runs at a rate (warm-up, measured seconds, drain),
 * steps of up to `runs` runs, a ramp of rates up to the first step that fails, then halvings
 * between the last pass and the first fail. A step passes when the median of its runs' p99 is
 * under the limit and no run lost a delivery.
 */
import { loadavg } from "node:os";
import { CLK_TCK, procFigures } from "../peers/load.ts";
import {
  epochNow,
  histogramQuantile,
  mergeInto,
  newHistogram,
  ROOM_SIZE,
  type ClientTally,
  type FromClient,
  type FromPublisher,
  type RunPlan,
  type ToClient,
  type ToPublisher,
} from "./protocol.ts";
import type { Worker } from "./workers.ts";

export type Rig = {
  clients: Worker<ToClient, FromClient>[];
  publishers: Worker<ToPublisher, FromPublisher>[];
  serverPids: number[];
  redisPid: number;
};

export type RampOptions = {
  rates: number[];
  runs: number;
  seconds: number;
  warmupSeconds: number;
  drainSeconds: number;
  refine: number;
  p99LimitMs: number;
  log: (m: string) => void;
};

/** CPU used over a run's measured window, in % of one core. */
export type CpuShare = {
  servers: number;
  redis: number;
  clients: number;
  /** the busiest client worker alone: near 100 % it would be what limits the run */
  busiestClient: number;
  publishers: number;
  /** of the above, the time in the kernel (system calls: socket writes and reads, wake-ups); absent in older results */
  kernel?: { servers: number; redis: number; clients: number; publishers: number };
};

export type RunResult = {
  rate: number;
  p50: number;
  p99: number;
  max: number;
  expected: number;
  lost: number;
  duplicates: number;
  misrouted: number;
  stray: number;
  early: number;
  closed: number;
  /** how late the publishers sent against the schedule */
  publishLagP99: number;
  publishLagMax: number;
  cpu: CpuShare;
  /** server CPU (% of a core) per 10,000 deliveries/s: CPU ms per delivery × 1000 */
  serverCpuPer10k: number;
  redisCpuPer10k: number;
  /** the machine's 1-minute load average when the run ended */
  load: number;
};

export type StepResult = { rate: number; runs: RunResult[]; medianP99: number; lost: number; pass: boolean };

const cpuMsOf = (pids: number[], kernel = false) =>
  (pids.reduce((s, p) => s + procFigures(p)[kernel ? "kernelTicks" : "cpuTicks"], 0) * 1000) / CLK_TCK;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;
let nextRunId = 1;

function cpuNow(rig: Rig) {
  const groups = {
    servers: rig.serverPids,
    redis: [rig.redisPid],
    clients: rig.clients.map((c) => c.proc.pid),
    publishers: rig.publishers.map((p) => p.proc.pid),
  };
  return {
    t: performance.now(),
    servers: cpuMsOf(groups.servers),
    redis: cpuMsOf(groups.redis),
    clients: cpuMsOf(groups.clients),
    perClient: rig.clients.map((c) => cpuMsOf([c.proc.pid])),
    publishers: cpuMsOf(groups.publishers),
    kernel: {
      servers: cpuMsOf(groups.servers, true),
      redis: cpuMsOf(groups.redis, true),
      clients: cpuMsOf(groups.clients, true),
      publishers: cpuMsOf(groups.publishers, true),
    },
  };
}

/** Waits (at most 10 s) until the servers use under 15 % of a core: the last run's backlog is gone. */
async function serversIdle(rig: Rig): Promise<void> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const a = cpuMsOf(rig.serverPids);
    await Bun.sleep(300);
    if (cpuMsOf(rig.serverPids) - a < 45) return;
  }
}

export async function measureRun(rig: Rig, rate: number, o: RampOptions): Promise<RunResult> {
  await serversIdle(rig);
  const warmup = Math.round(rate * o.warmupSeconds);
  const total = warmup + Math.round(rate * o.seconds);
  const plan: RunPlan = { runId: nextRunId++, rate, start: 0, warmup, total };
  await Promise.all(rig.clients.map((c) => c.ask({ op: "arm", plan })));
  plan.start = epochNow() + 300;
  // the CPU window starts with the first measured message, and ends when the last arrived
  const measuredAt = plan.start + (warmup * 1000) / rate;
  let cpu0 = cpuNow(rig);
  const windowOpen = Bun.sleep(Math.max(0, measuredAt - epochNow())).then(() => {
    cpu0 = cpuNow(rig);
  });
  const runMs = ((total / rate) * 1000 + 30_000) * 2;
  const published = await Promise.all(
    rig.publishers.map((p, shard) =>
      p.ask<Extract<FromPublisher, { op: "published" }>>(
        { op: "publish", plan, shard, shards: rig.publishers.length },
        runMs,
      ),
    ),
  );
  await windowOpen;
  // drain: until every expected delivery arrived, or drainSeconds after the last publish
  const drainUntil = Date.now() + o.drainSeconds * 1000;
  for (;;) {
    const counts = await Promise.all(
      rig.clients.map((c) => c.ask<Extract<FromClient, { op: "count" }>>({ op: "count" })),
    );
    if (counts.every((c) => c.unique >= c.expected) || Date.now() >= drainUntil) break;
    await Bun.sleep(25);
  }
  const cpu1 = cpuNow(rig);
  const tallies = await Promise.all(
    rig.clients.map((c) => c.ask<Extract<FromClient, { op: "collected" }>>({ op: "collect" })),
  );
  const sum = (f: (t: ClientTally) => number) => tallies.reduce((s, t) => s + f(t), 0);
  const latency = tallies.reduce((h, t) => mergeInto(h, t.histogram), newHistogram());
  const lag = published.reduce((h, p) => mergeInto(h, p.lagHistogram), newHistogram());
  const seconds = (cpu1.t - cpu0.t) / 1000;
  type Group = "servers" | "redis" | "clients" | "publishers";
  const share = (k: Group) => (cpu1[k] - cpu0[k]) / seconds / 10;
  const kernel = (k: Group) => (cpu1.kernel[k] - cpu0.kernel[k]) / seconds / 10;
  const received = sum((t) => t.unique) + sum((t) => t.duplicates);
  const expected = sum((t) => t.expected);
  if (expected !== (total - warmup) * ROOM_SIZE)
    throw new Error(`expected ${expected} deliveries, not ${(total - warmup) * ROOM_SIZE}: sockets missing`);
  return {
    rate,
    p50: histogramQuantile(latency, 0.5),
    p99: histogramQuantile(latency, 0.99),
    max: Math.max(...tallies.map((t) => t.maxMs)),
    expected,
    lost: expected - sum((t) => t.unique),
    duplicates: sum((t) => t.duplicates),
    misrouted: sum((t) => t.misrouted),
    stray: sum((t) => t.stray),
    early: sum((t) => t.early),
    closed: sum((t) => t.closed),
    publishLagP99: histogramQuantile(lag, 0.99),
    publishLagMax: Math.max(...published.map((p) => p.lagMaxMs)),
    cpu: {
      servers: share("servers"),
      redis: share("redis"),
      clients: share("clients"),
      busiestClient: Math.max(...cpu1.perClient.map((ms, i) => (ms - cpu0.perClient[i]!) / seconds / 10)),
      publishers: share("publishers"),
      kernel: {
        servers: kernel("servers"),
        redis: kernel("redis"),
        clients: kernel("clients"),
        publishers: kernel("publishers"),
      },
    },
    serverCpuPer10k: ((cpu1.servers - cpu0.servers) / received) * 1000,
    redisCpuPer10k: ((cpu1.redis - cpu0.redis) / received) * 1000,
    load: loadavg()[0]!,
  };
}

/** Up to `runs` runs at one rate; stops early once the outcome cannot change. */
export async function measureStep(rig: Rig, rate: number, o: RampOptions): Promise<StepResult> {
  const runs: RunResult[] = [];
  const failsNeeded = Math.floor(o.runs / 2) + 1;
  for (let i = 0; i < o.runs; i++) {
    const r = await measureRun(rig, rate, o);
    runs.push(r);
    o.log(
      `${rate}/s run ${i + 1}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, lost ${r.lost}, dup ${r.duplicates}; CPU % servers ${r.cpu.servers.toFixed(0)}, redis ${r.cpu.redis.toFixed(0)}, clients ${r.cpu.clients.toFixed(0)} (busiest ${r.cpu.busiestClient.toFixed(0)}), publishers ${r.cpu.publishers.toFixed(0)}; publish lag p99 ${r.publishLagP99.toFixed(1)} ms`,
    );
    if (r.lost > 0 || runs.filter((x) => !(x.p99 < o.p99LimitMs)).length >= failsNeeded) break;
  }
  const medianP99 = median(runs.map((r) => r.p99));
  const lost = runs.reduce((s, r) => s + r.lost, 0);
  return { rate, runs, medianP99, lost, pass: medianP99 < o.p99LimitMs && lost === 0 };
}

/** The ramp, then `refine` halvings of the interval between the last pass and the first fail. */
export async function findKnee(
  rig: Rig,
  o: RampOptions,
): Promise<{ steps: StepResult[]; knee: number; firstFail?: number }> {
  const steps: StepResult[] = [];
  let knee = 0;
  let firstFail: number | undefined;
  for (const rate of o.rates) {
    const step = await measureStep(rig, rate, o);
    steps.push(step);
    o.log(`${rate}/s: ${step.pass ? "PASS" : "FAIL"} (median p99 ${step.medianP99.toFixed(1)} ms, lost ${step.lost})`);
    if (!step.pass) {
      firstFail = rate;
      break;
    }
    knee = rate;
  }
  for (let i = 0; i < o.refine && firstFail !== undefined; i++) {
    const mid = Math.round((knee + firstFail) / 2 / 100) * 100;
    if (mid <= knee || mid >= firstFail) break;
    const step = await measureStep(rig, mid, o);
    steps.push(step);
    o.log(`${mid}/s: ${step.pass ? "PASS" : "FAIL"} (median p99 ${step.medianP99.toFixed(1)} ms, lost ${step.lost})`);
    if (step.pass) knee = mid;
    else firstFail = mid;
  }
  return { steps, knee, firstFail };
}
