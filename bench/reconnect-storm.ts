/**
 * A realtime replica killed with N connected users (issue 14). Throwaway Redis and database,
 * the real api and two realtime replicas (scripts/lib/stack.ts). N users, seeded straight into
 * the database in conversations of 10, connect to replica 1 with clients that behave as the
 * browser does (bench/lib/storm-client.ts); a few other users on replica 2 keep sending and
 * reading over REST; replica 1 is SIGKILLed and the load balancer sends everyone to replica 2.
 * Measured: how long until X % of the users are `ready` on replica 2 and caught up, what was
 * refused or failed, the other users' latency before and during the storm, CPU per process;
 * before that, 1,000 sockets to `ready` on a fresh replica (50 at a time, then all at once).
 *
 *   node_modules/.bin/bun bench/reconnect-storm.ts [--users 5000] [--others 20] [--send-rate 20]
 *     [--read-rate 10] [--storm-share 0.75] [--direct 2] [--ready-sockets 1000] [--baseline 15]
 *     [--timeout 60] [--after 5] [--http-max 8192] [--rest replica|api] [--out bench/results/reconnect-storm.md]
 *     [--api-env KEY=VALUE]   (a setting of the api to weigh; repeatable)
 *
 * The bench process holds every client socket and request: it needs an open file per socket
 * and per concurrent request, and Bun's fetch allows 256 requests at once unless
 * BUN_CONFIG_MAX_HTTP_REQUESTS (read at start) says more. It starts itself again with both
 * when needed, and stops with a clear message when the limit cannot be raised.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { STABLE_AFTER_MS } from "../frontend/src/state/backoff.ts";
import { ROOT } from "../scripts/lib/infra.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { startTestInfra } from "../scripts/lib/testinfra.ts";
import { keyValues } from "./lib/args.ts";
import { CpuMeter } from "./lib/procs.ts";
import { withDb } from "./lib/seed.ts";
import { instrumentWebSockets, RequestStats, type Router, StormClient } from "./lib/storm-client.ts";
import { databaseWork, fileLimits, grown, LoopLag, rssMiB, scrape, timeSocketsReady } from "./lib/storm-measure.ts";
import { renderStormReport, type StormRun } from "./lib/storm-report.ts";
import { OtherUsersProcess } from "./lib/storm-others.ts";
import { SendLedger, seedStormPeople } from "./lib/storm-world.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "5000" },
    others: { type: "string", default: "20" },
    "send-rate": { type: "string", default: "20" },
    "read-rate": { type: "string", default: "10" },
    "storm-share": { type: "string", default: "0.75" },
    direct: { type: "string", default: "2" },
    "ready-sockets": { type: "string", default: "1000" },
    baseline: { type: "string", default: "15" },
    timeout: { type: "string", default: "60" },
    after: { type: "string", default: "5" },
    "http-max": { type: "string", default: "8192" },
    rest: { type: "string", default: "replica" },
    out: { type: "string" },
    // a setting of the api to weigh (e.g. DB_READS_AT_ONCE=4096); repeatable
    "api-env": { type: "string", multiple: true, default: [] },
  },
});
const bound = (v: string | undefined, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number(v)));
const opts = {
  users: bound(values.users, 10, 10_000),
  others: bound(values.others, 2, 200),
  sendRate: bound(values["send-rate"], 1, 500),
  readRate: bound(values["read-rate"], 0, 500),
  stormShare: bound(values["storm-share"], 0, 1),
  direct: bound(values.direct, 0, 200),
  readySockets: bound(values["ready-sockets"], 0, 5000),
  baselineS: bound(values.baseline, 5, 120),
  timeoutS: bound(values.timeout, 10, 600),
  afterS: bound(values.after, 0, 60),
  httpMax: bound(values["http-max"], 256, 65_535),
  /** where the storm users' REST calls go: their replica's /api proxy, or the api itself */
  rest: values.rest === "api" ? ("api" as const) : ("replica" as const),
};
const OUT =
  values.out ??
  join(ROOT, "bench/results", opts.users === 5000 ? "reconnect-storm.md" : `reconnect-storm-${opts.users}.md`);

// ---------- the open-file limit and fetch's concurrency, before anything else ----------
const needFiles = opts.users + Math.max(opts.readySockets, 0) + opts.httpMax + opts.others * 2 + 1000;
const limits = fileLimits();
if (limits.soft < needFiles || process.env.BUN_CONFIG_MAX_HTTP_REQUESTS !== String(opts.httpMax)) {
  if (process.env.STORM_RESTARTED || limits.hard < needFiles) {
    console.error(
      `[bench] ${opts.users} sockets and ${opts.httpMax} requests at once need ${needFiles} open files; this process may have ` +
        `${limits.soft} (hard limit ${limits.hard}), which it cannot raise. Raise the hard limit (ulimit -Hn, as root with ` +
        "CAP_SYS_RESOURCE) or run smaller: --users, --http-max, --ready-sockets.",
    );
    process.exit(2);
  }
  const files = Math.max(needFiles, limits.soft);
  const child = Bun.spawn(
    ["sh", "-c", `ulimit -n ${files} && exec "$@"`, "sh", process.execPath, ...process.argv.slice(1)],
    {
      env: { ...process.env, STORM_RESTARTED: "1", BUN_CONFIG_MAX_HTTP_REQUESTS: String(opts.httpMax) },
      stdio: ["inherit", "inherit", "inherit"],
    },
  );
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  process.exit(await child.exited);
}
// read at start by this process; the services must keep Bun's default, as in production
delete process.env.BUN_CONFIG_MAX_HTTP_REQUESTS;
delete process.env.STORM_RESTARTED;

const s = (ms: number) => (ms / 1000).toFixed(1);
const log = (msg: string) => console.log(`[storm ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const loadBefore = loadavg();
const JWT_SECRET = `storm-${crypto.randomUUID()}-${crypto.randomUUID()}`;
const infra = await startTestInfra();
const logs = mkdtempSync(join(tmpdir(), "parley-bench-storm-"));
log(`${opts.users} users; logs in ${logs}; open files ${fileLimits().soft}`);
const clients: StormClient[] = [];
const restoreWebSocket = instrumentWebSockets();
try {
  const dbUrl = `${infra.mongoUrl.replace(/\/?$/, "/")}bench_storm`;
  const stack = await startStack({
    mongoUrl: dbUrl,
    redisUrl: infra.redisUrl,
    jwtSecret: JWT_SECRET,
    replicas: 2,
    logs,
    // the other users' open loop is not one person's outbox (which sends one at a time): a send
    // queued behind the storm lands in a later rate window with the next ones and would be a 429
    apiEnv: { LOG_LEVEL: "warn", SEND_RATE_MAX: "100000", ...keyValues(values["api-env"] ?? [], "--api-env") },
    realtimeEnv: { LOG_LEVEL: "warn", STATIC_DIR: join(logs, "no-frontend") },
  });
  try {
    // into a running system (its indexes and schema version in place), as users accumulate in one;
    // seeded before the api's start, every document would go through its migrations first
    const t0 = performance.now();
    const people = await withDb(dbUrl, (db) =>
      seedStormPeople(db, JWT_SECRET, { storm: opts.users, others: opts.others, spare: opts.readySockets }),
    );
    const seedMs = performance.now() - t0;
    log(`seeded in ${s(seedMs)} s`);
    const [r1, r2] = stack.realtimeUrls as [string, string];
    const pidOf = (name: string) => stack.children.findLast((c) => c.name === name)!.proc.pid;
    const infraProcs = infra.children.map((c) => ({ name: c.name, pid: c.proc.pid, tree: c.name === "postgres" }));

    // ---------- 1. sockets to `ready` on a fresh replica ----------
    const ready: StormRun["ready"] = [];
    if (opts.readySockets > 0) {
      const tokens = people.spare.map((u) => u.token);
      for (const [label, batch] of [
        ["50 at a time", 50],
        ["all at once", tokens.length],
      ] as const) {
        await stack.stopReplica(0, "SIGTERM");
        await stack.startReplica(0);
        const meter = new CpuMeter([{ name: "realtime-1", pid: pidOf("realtime-1") }]);
        meter.begin();
        const r = await timeSocketsReady(r1, tokens, batch);
        ready.push({
          label,
          sockets: tokens.length,
          ms: r.ms,
          perSocket: r.perSocket,
          cpu: meter.end()["realtime-1"]!,
        });
        log(`${tokens.length} sockets ready (${label}) in ${r.ms.toFixed(0)} ms`);
        await r.close();
      }
      await stack.stopReplica(0, "SIGTERM");
      await stack.startReplica(0);
    }

    // ---------- 2. the other users on replica 2, the storm users on replica 1 ----------
    const otherSockets = await Promise.all(
      people.others.map(
        (u) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`${r2.replace(/^http/, "ws")}/ws?token=${u.token}`);
            ws.onmessage = (e) => {
              if (String(e.data).includes('"type":"ready"')) resolve(ws);
            };
            ws.onclose = () => reject(new Error("another user's socket closed before ready"));
          }),
      ),
    );
    const router: Router = { web: r1, rest: opts.rest === "api" ? stack.apiUrl : undefined };
    const ledger = new SendLedger();
    const stats = new RequestStats();
    const connectStart = performance.now();
    const allCaughtUp = async () => {
      const until = performance.now() + 120_000;
      while (clients.some((c) => c.readies[0]?.caughtUpAt === undefined)) {
        if (performance.now() > until) throw new Error("storm users not ready on replica 1 after 120 s");
        await Bun.sleep(20);
      }
    };
    for (const u of people.storm) {
      const c = new StormClient(u.id, u.token, u.conversationId, router, ledger, stats);
      clients.push(c);
      c.start();
      // a few hundred at a time: the users of a running replica came over minutes, not in one go
      if (clients.length % 250 === 0) await allCaughtUp();
    }
    await allCaughtUp();
    const connectMs = performance.now() - connectStart;
    const lastReady = Math.max(...clients.map((c) => c.readies[0]!.at));
    log(`${clients.length} storm users ready on replica 1 and caught up in ${s(connectMs)} s`);

    // ---------- 3. the baseline: others load, everyone connected long enough to be "stable" ----------
    const load = new OtherUsersProcess(people, ledger, {
      web: r2,
      api: stack.apiUrl,
      direct: opts.direct,
      sendRate: opts.sendRate,
      readRate: opts.readRate,
      stormShare: opts.stormShare,
    });
    const lag = new LoopLag();
    lag.start();
    load.start();
    await Bun.sleep(2000); // the first requests of a fresh load are not the baseline
    lag.take();
    const procs = (withReplica1: boolean) =>
      new CpuMeter([
        { name: "api", pid: pidOf("api") },
        ...(withReplica1 ? [{ name: "realtime-1", pid: pidOf("realtime-1") }] : []),
        { name: "realtime-2", pid: pidOf("realtime-2") },
        ...infraProcs,
        { name: "bench (all clients)", pid: process.pid },
      ]);
    const dbWork = () => (infra.postgresUrl ? databaseWork(infra.postgresUrl, "bench_storm") : Promise.resolve(null));
    const dbAtBaseline = await dbWork();
    const baselineStart = performance.now();
    const beforeMeter = procs(true);
    beforeMeter.begin();
    const waitMs = Math.max(opts.baselineS * 1000, lastReady + STABLE_AFTER_MS + 1000 - performance.now());
    await Bun.sleep(waitMs);
    const cpuBefore = beforeMeter.end();
    const lagBefore = lag.take();
    const rssBefore = { "realtime-2": rssMiB(pidOf("realtime-2")), api: rssMiB(pidOf("api")) };
    const metricsBefore = {
      replica2: await scrape(`${stack.realtimeOpsUrls[1]}/metrics`, join(logs, "metrics-realtime-2-before.txt")),
      api: await scrape(`${stack.apiUrl}/metrics`, join(logs, "metrics-api-before.txt")),
    };
    const dbBeforeKill = await dbWork();
    const baselineEnd = performance.now();
    stats.clear();

    // ---------- 4. the kill ----------
    const stormMeter = procs(false);
    stormMeter.begin();
    router.web = r2;
    const killedAt = performance.now();
    const killedEpoch = Date.now();
    await stack.stopReplica(0, "SIGKILL");
    log("replica 1 killed");
    const after = (c: StormClient) => c.readies.find((r) => r.at > killedAt);
    const settled = (c: StormClient) => after(c)?.caughtUpAt !== undefined || c.signedOut !== null;
    const deadline = killedAt + opts.timeoutS * 1000;
    let shown = 0;
    while (performance.now() < deadline && !clients.every(settled)) {
      await Bun.sleep(50);
      const n = clients.filter(settled).length;
      if (n - shown >= clients.length / 10) {
        shown = n;
        log(`${n} of ${clients.length} back and caught up (${s(performance.now() - killedAt)} s)`);
      }
    }
    const stormEnd = performance.now();
    const stormEndEpoch = Date.now();
    const cpuStorm = stormMeter.end();
    const lagStorm = lag.take();
    const rssStorm = { "realtime-2": rssMiB(pidOf("realtime-2")), api: rssMiB(pidOf("api")) };
    const metricsAfter = {
      replica2: await scrape(`${stack.realtimeOpsUrls[1]}/metrics`, join(logs, "metrics-realtime-2-storm.txt")),
      api: await scrape(`${stack.apiUrl}/metrics`, join(logs, "metrics-api-storm.txt")),
    };
    const dbAfterStorm = await dbWork();
    log(`storm over after ${s(stormEnd - killedAt)} s: ${clients.filter(settled).length} of ${clients.length} back`);

    const afterMeter = procs(false);
    afterMeter.begin();
    await Bun.sleep(opts.afterS * 1000);
    const cpuAfter = afterMeter.end();
    const lagAfter = lag.take();
    const loadEnd = performance.now();
    await load.stop();
    lag.stop();

    // ---------- 5. once the senders stopped, every storm user must hold every message ----------
    const missing = () =>
      clients.reduce((n, c) => n + ledger.all(c.conversationId).filter((m) => !c.holds(m.seq, m.id)).length, 0);
    const settleStart = performance.now();
    while (missing() > 0 && performance.now() - settleStart < 20_000) await Bun.sleep(100);

    const run: StormRun = {
      opts,
      command: `node_modules/.bin/bun bench/reconnect-storm.ts ${process.argv.slice(2).join(" ")}`.trim(),
      loadBefore,
      loadAfter: loadavg(),
      seedMs,
      people: {
        storm: people.storm.length,
        others: people.others.length,
        stormConversations: people.stormConversations.length,
        otherConversations: people.otherConversations.length,
      },
      ready,
      connectMs,
      killedAt,
      stormEnd,
      epochs: { killed: killedEpoch, stormEnd: stormEndEpoch },
      clients,
      stats,
      samples: load.samples,
      windows: {
        before: [baselineStart, killedAt],
        storm: [killedAt, stormEnd],
        after: [stormEnd, loadEnd],
      },
      cpu: { before: cpuBefore, storm: cpuStorm, after: cpuAfter },
      lag: { before: lagBefore, storm: lagStorm, after: lagAfter },
      rss: { before: rssBefore, storm: rssStorm },
      metrics: {
        replica2: grown(metricsBefore.replica2, metricsAfter.replica2, [
          "http_request_duration_seconds_count",
          "realtime_refused_sockets_total",
          "realtime_slow_client_closes_total",
          "realtime_redis_reconnects_total",
        ]),
        api: grown(metricsBefore.api, metricsAfter.api, ["http_request_duration_seconds_count"]),
      },
      database:
        dbAtBaseline && dbBeforeKill && dbAfterStorm
          ? {
              baseline: { from: dbAtBaseline, to: dbBeforeKill, seconds: (baselineEnd - baselineStart) / 1000 },
              storm: { from: dbBeforeKill, to: dbAfterStorm, seconds: (stormEnd - killedAt) / 1000 },
            }
          : undefined,
      ledger,
      lostAfterSettle: missing(),
      otherSockets: otherSockets.filter((ws) => ws.readyState !== WebSocket.OPEN).length,
      httpMax: opts.httpMax,
      profiled: process.env.PROFILE_DIR,
    };
    for (const c of clients) c.stop();
    for (const ws of otherSockets) ws.close();
    const report = renderStormReport(run);
    writeFileSync(OUT, report);
    console.log(report);
    log(`wrote ${OUT}`);
  } finally {
    for (const c of clients) c.stop();
    await stack.stop();
  }
} finally {
  restoreWebSocket();
  await infra.stop();
}
process.exit(0);
