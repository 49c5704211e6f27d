/**
 * The fan-out knee (issue 14): how many room messages per second each server delivers with a
 * p99 under 50 ms and nothing lost, side by side in one sitting on one machine, with baselines.
 * Per server: two server processes on one throwaway Redis, 100 rooms of 10 users (5 members on
 * each process), 1,000 sockets held by client worker processes (bench/knee/client.ts), open-loop
 * publishing at R messages/s by publisher processes (bench/knee/publisher.ts), each message
 * delivered to the room's 10 members. Also: server CPU per 10k deliveries/s at R=2,000, idle
 * memory per socket, time to open the 1,000 sockets. Servers: Socket.IO + redis-adapter, Elysia
 * `.ws` and bare Bun.serve (both baselines, bench/peers/), Parley realtime.
 *
 *   node_modules/.bin/bun bench/fanout-knee.ts [--servers socketio,elysia-ws,bare-bun,parley]
 *     [--rates 1000,2000,3000,4000,6000,8000,12000,16000,20000,24000,28000,32000] [--runs 3] [--seconds 5] [--warmup 1]
 *     [--drain 3] [--refine 2] [--p99 50] [--cpu-rate 2000] [--clients 2] [--publishers 1] [--processes 2]
 *     [--settle 10] [--idle 10] [--quiet-load 1.5] [--quiet-wait 60] [--out bench/results/fanout-knee.md]
 *   node_modules/.bin/bun bench/fanout-knee.ts --from-json <logs>/fanout-knee.json   (the report of a past sitting, again)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import { ROOT, startRedis, stopAll } from "../scripts/lib/infra.ts";
import { freePort } from "../scripts/lib/ports.ts";
import { runningChildren } from "../scripts/lib/system.ts";
import { procFigures, waitForQuietMachine } from "./peers/load.ts";
import {
  SERVER_KINDS,
  type FromClient,
  type FromPublisher,
  type ServerKind,
  type ToClient,
  type ToPublisher,
} from "./knee/protocol.ts";
import { findKnee, measureStep, type RampOptions } from "./knee/ramp.ts";
import { commitOf, renderKneeReport, type ReportInput, type ServerResult } from "./knee/report.ts";
import { dataFolders, startTarget } from "./knee/targets.ts";
import { clockBound, stopWorkers, Worker } from "./knee/workers.ts";

const { values } = parseArgs({
  options: {
    servers: { type: "string", default: SERVER_KINDS.join(",") },
    rates: { type: "string", default: "1000,2000,3000,4000,6000,8000,12000,16000,20000,24000,28000,32000" },
    runs: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    drain: { type: "string", default: "3" },
    refine: { type: "string", default: "2" },
    p99: { type: "string", default: "50" },
    "cpu-rate": { type: "string", default: "2000" },
    clients: { type: "string", default: "2" },
    publishers: { type: "string", default: "1" },
    processes: { type: "string", default: "2" },
    settle: { type: "string", default: "10" },
    idle: { type: "string", default: "10" },
    "quiet-load": { type: "string", default: "1.5" },
    "quiet-wait": { type: "string", default: "60" },
    out: { type: "string", default: join(ROOT, "bench/results/fanout-knee.md") },
    "from-json": { type: "string" },
  },
});
if (values["from-json"]) {
  const saved = JSON.parse(readFileSync(values["from-json"], "utf8")) as ReportInput & { startedAt: string };
  writeFileSync(values.out!, renderKneeReport({ ...saved, startedAt: new Date(saved.startedAt) }));
  console.error(`[bench] ${values["from-json"]} rendered into ${values.out}`);
  process.exit(0);
}
const clamp = (v: string | undefined, lo: number, hi: number) => Math.min(Math.max(lo, Number(v)), hi);
const servers = values.servers!.split(",").map((s) => s.trim()) as ServerKind[];
for (const s of servers)
  if (!SERVER_KINDS.includes(s)) throw new Error(`unknown server "${s}"; known: ${SERVER_KINDS.join(", ")}`);
// Bounds: whatever is asked, a sitting stays within what a shared 2-core machine can give.
const ramp: RampOptions = {
  rates: values.rates!.split(",").map((r) => clamp(r, 10, 50_000)),
  runs: clamp(values.runs, 1, 5),
  seconds: clamp(values.seconds, 1, 30),
  warmupSeconds: clamp(values.warmup, 0, 10),
  drainSeconds: clamp(values.drain, 1, 10),
  refine: clamp(values.refine, 0, 4),
  p99LimitMs: Number(values.p99),
  log: () => {},
};
const opts = {
  cpuRate: clamp(values["cpu-rate"], 10, 50_000),
  clients: clamp(values.clients, 1, 8),
  publishers: clamp(values.publishers, 1, 4),
  processes: clamp(values.processes, 1, 4),
  settle: clamp(values.settle, 0, 30),
  idle: clamp(values.idle, 1, 30),
  quietLoad: Number(values["quiet-load"]),
  quietWait: clamp(values["quiet-wait"], 0, 600),
};
const SOCKETS_AT_A_TIME = 50;

const logs = mkdtempSync(join(tmpdir(), "parley-bench-knee-"));
const redisDir = mkdtempSync(join(tmpdir(), "parley-bench-knee-redis-"));
const stopEverything = async () => {
  stopWorkers();
  await stopAll(runningChildren(), 5000);
  for (const dir of [redisDir, ...dataFolders]) rmSync(dir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    console.error(`[bench] ${signal}: stopping every process started`);
    void stopEverything().then(() => process.exit(130));
  });

const rssOf = (pids: number[]) => pids.reduce((s, p) => s + procFigures(p).rssKiB, 0);

async function measureServer(kind: ServerKind, redisUrl: string, redisPid: number): Promise<ServerResult> {
  const t0 = performance.now();
  const quiet = await waitForQuietMachine(opts.quietLoad, opts.quietWait);
  const loadStart = loadavg()[0]!;
  const target = await startTarget(kind, { redisUrl, processes: opts.processes, logs });
  const log = (m: string) => console.error(`[${kind}] ${m}`);
  const clients: Worker<ToClient, FromClient>[] = [];
  const publishers: Worker<ToPublisher, FromPublisher>[] = [];
  const inspector = new Redis(redisUrl);
  try {
    log(`${target.pids.length} processes up; settling ${opts.settle} s`);
    await Bun.sleep(opts.settle * 1000);
    const rssBeforeKiB = rssOf(target.pids);
    for (let i = 0; i < opts.clients; i++) clients.push(new Worker(`client-${i + 1}`, "bench/knee/client.ts"));
    const per = Math.ceil(SOCKETS_AT_A_TIME / clients.length);
    const opened = performance.now();
    await Promise.all(
      clients.map((c, w) =>
        c.ask(
          {
            op: "open",
            kind,
            sockets: target.sockets.filter((_, i) => i % clients.length === w),
            concurrency: per,
          },
          120_000,
        ),
      ),
    );
    const openSeconds = (performance.now() - opened) / 1000;
    log(`${target.sockets.length} sockets ready in ${openSeconds.toFixed(2)} s; idle ${opts.idle} s`);
    await Bun.sleep(opts.idle * 1000);
    const rssAfterKiB = rssOf(target.pids);
    const channels = ((await inspector.pubsub("CHANNELS")) as string[]).length;
    const patterns = Number(await inspector.pubsub("NUMPAT"));

    for (let i = 0; i < opts.publishers; i++) {
      const p = new Worker<ToPublisher, FromPublisher>(`publisher-${i + 1}`, "bench/knee/publisher.ts");
      publishers.push(p);
      await p.ask({ op: "setup", kind, redisUrl, rooms: target.rooms });
    }
    // the workers' clocks against this one's (all read epochNow): a bound on the latency error
    let clockSkewMs = 0;
    for (const w of [...clients, ...publishers])
      clockSkewMs = Math.max(clockSkewMs, await clockBound(w as unknown as Parameters<typeof clockBound>[0]));
    const rig = { clients, publishers, serverPids: target.pids, redisPid };
    const { steps, knee, firstFail } = await findKnee(rig, { ...ramp, log });
    let cpuStep = steps.find((s) => s.rate === opts.cpuRate);
    if (!cpuStep) {
      log(`CPU figures at ${opts.cpuRate}/s (not in the ramp)`);
      cpuStep = await measureStep(rig, opts.cpuRate, { ...ramp, log });
    }
    return {
      kind,
      label: target.label,
      notes: target.notes,
      quiet,
      loadStart,
      loadEnd: loadavg()[0]!,
      rssBeforeKiB,
      rssAfterKiB,
      kibPerSocket: (rssAfterKiB - rssBeforeKiB) / target.sockets.length,
      sockets: target.sockets.length,
      openSeconds,
      redis: { channels, patterns },
      clockSkewMs,
      steps,
      knee,
      firstFail,
      cpuStep,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    inspector.disconnect();
    await Promise.all([
      ...clients.map((c) => c.close({ op: "close" })),
      ...publishers.map((p) => p.close({ op: "close" })),
    ]);
    await target.stop();
  }
}

/** What a sitting measured, kept beside its logs so the report can be written again (--from-json). */
const sittingFile = join(logs, "fanout-knee.json");
const startedAt = new Date();
const commit = commitOf();
let exitCode = 0;
try {
  const redisPort = await freePort();
  const redis = await startRedis({
    port: redisPort,
    dataDir: redisDir,
    persist: false,
    logFile: join(logs, "redis.log"),
  });
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  console.error(`[bench] servers ${servers.join(", ")}; rates ${ramp.rates.join(", ")}; logs in ${logs}`);
  const results: ServerResult[] = [];
  for (const kind of servers) results.push(await measureServer(kind, redisUrl, redis.proc.pid));
  const input: ReportInput = { startedAt, commit, results, ramp, opts, argv: process.argv.slice(2) };
  writeFileSync(sittingFile, JSON.stringify(input));
  const report = renderKneeReport(input);
  writeFileSync(values.out!, report);
  console.log(report);
  console.error(`[bench] results written to ${values.out} (the measurements: ${sittingFile})`);
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await stopEverything();
}
process.exit(exitCode);
