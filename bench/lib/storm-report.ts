/** The Markdown result of bench/reconnect-storm.ts: what it measured, as tables. */
import { cpus, totalmem } from "node:os";
import { ROOT } from "../../scripts/lib/infra.ts";
import { percentile } from "./procs.ts";
import { countOutcomes, type RequestStats, type StormClient } from "./storm-client.ts";
import { type Sample, type SendLedger, summarize } from "./storm-world.ts";

type Window = [from: number, to: number];
type DbWork = { tables: Map<string, { scans: number; rows: number }>; commits: number };

export type StormRun = {
  opts: {
    users: number;
    others: number;
    sendRate: number;
    readRate: number;
    stormShare: number;
    direct: number;
    baselineS: number;
    timeoutS: number;
    afterS: number;
    rest: "replica" | "api";
  };
  command: string;
  loadBefore: number[];
  loadAfter: number[];
  seedMs: number;
  people: { storm: number; others: number; stormConversations: number; otherConversations: number };
  ready: {
    label: string;
    sockets: number;
    ms: number;
    perSocket: { p50: number; p99: number; max: number };
    cpu: number;
  }[];
  connectMs: number;
  killedAt: number;
  stormEnd: number;
  /** the kill and the end of the storm window, in ms since the epoch (what profiles are stamped with) */
  epochs: { killed: number; stormEnd: number };
  clients: StormClient[];
  stats: RequestStats;
  samples: Sample[];
  windows: { before: Window; storm: Window; after: Window };
  cpu: { before: Record<string, number>; storm: Record<string, number>; after: Record<string, number> };
  lag: Record<"before" | "storm" | "after", { p99: number; max: number }>;
  rss: { before: Record<string, number>; storm: Record<string, number> };
  metrics: { replica2: [string, number][]; api: [string, number][] };
  /** PostgreSQL's counters at the start and end of the baseline and of the storm */
  database?: Record<"baseline" | "storm", { from: DbWork; to: DbWork; seconds: number }>;
  ledger: SendLedger;
  lostAfterSettle: number;
  otherSockets: number;
  httpMax: number;
  profiled?: string;
};

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "–");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "–");
const sec = (ms: number) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : "–");
const QS = [0.5, 0.9, 0.99, 1] as const;

/** The time by which a share q of all `total` users had got there (undefined: fewer got there). */
function reached(times: number[], total: number, q: number): number | undefined {
  const sorted = [...times].sort((a, b) => a - b);
  const need = Math.ceil(q * total);
  return sorted.length >= need ? sorted[need - 1] : undefined;
}

function timeline(run: StormRun): string {
  const { clients, killedAt } = run;
  const after = (c: StormClient) => c.readies.find((r) => r.at > killedAt);
  const rows: [string, number[]][] = [
    [
      "the client saw its socket close",
      clients.flatMap((c) => {
        const a = c.attempts.findLast((x) => x.at < killedAt);
        return a?.closedAt !== undefined && a.closedAt >= killedAt ? [a.closedAt - killedAt] : [];
      }),
    ],
    [
      "its first reconnect attempt (the backoff's delay)",
      clients.flatMap((c) => {
        const a = c.attempts.find((x) => x.at > killedAt);
        return a ? [a.at - killedAt] : [];
      }),
    ],
    ["(a) `ready` on replica 2", clients.flatMap((c) => (after(c) ? [after(c)!.at - killedAt] : []))],
    [
      "(b) caught up: its REST catch-up answered and held every message committed before it asked (or, when its marks said nothing was missed, it held every message committed before its `ready`)",
      clients.flatMap((c) => {
        const r = after(c);
        return r?.ok && r.missing === 0 && r.caughtUpAt !== undefined ? [r.caughtUpAt - killedAt] : [];
      }),
    ],
  ];
  const head = `| seconds after the kill until … of ${clients.length} users | ${QS.map((q) => `${q * 100} %`).join(" | ")} | got there |`;
  const lines = rows.map(
    ([label, times]) =>
      `| ${label} | ${QS.map((q) => {
        const t = reached(times, clients.length, q);
        return t === undefined ? "not reached" : sec(t);
      }).join(" | ")} | ${times.length} |`,
  );
  return [head, `|---|${QS.map(() => "---:|").join("")}---:|`, ...lines].join("\n");
}

function attempts(run: StormRun): string {
  const { clients, killedAt } = run;
  const all = clients.flatMap((c) => c.attempts.filter((a) => a.at > killedAt));
  const more = clients.filter((c) => c.attempts.filter((a) => a.at > killedAt).length > 1).length;
  const readies = clients.map((c) => c.readies.find((r) => r.at > killedAt));
  const failures: Record<string, number> = {};
  for (const r of readies)
    for (const f of r?.failures ?? []) failures[f.slice(0, 60)] = (failures[f.slice(0, 60)] ?? 0) + 1;
  const incomplete = readies.filter((r) => r?.missing !== undefined && r.missing > 0).length;
  const signedOut = clients.filter((c) => c.signedOut).map((c) => c.signedOut!);
  const outcome = Object.entries(countOutcomes(all))
    .sort((a, b) => b[1] - a[1])
    .map(([o, n]) => `| ${o} | ${n} |`);
  return `Reconnect attempts after the kill: ${all.length} by ${clients.length} users; ${more} users needed more than one.

| outcome of an attempt | attempts |
|---|---:|
${outcome.join("\n")}

Of the first \`ready\`s on replica 2, ${readies.filter((r) => r?.skipped).length} said by their marks that nothing was missed (contract/marks: no request; "caught up" once every message committed before that \`ready\` was held, live), ${readies.filter((r) => r && !r.skipped).length} started a catch-up over REST.

Catch-ups after the first \`ready\` on replica 2 (or nothing to catch up): ${readies.filter((r) => r?.ok).length} complete; ${
    Object.keys(failures).length
      ? `failed requests: ${Object.entries(failures)
          .map(([f, n]) => `${n} × ${f}`)
          .join("; ")}`
      : "no request failed"
  }; ${incomplete} answered without a message committed before it asked; ${signedOut.length} users signed out${
    signedOut.length ? ` (${[...new Set(signedOut)].join(", ")})` : ""
  }.`;
}

function requests(run: StormRun): string {
  const rows = [...run.stats.statuses].map(([kind, byStatus]) => {
    const l = [...(run.stats.latencies.get(kind) ?? [])].sort((a, b) => a - b);
    const statuses = [...byStatus]
      .sort((a, b) => b[1] - a[1])
      .map(([st, n]) => `${st === 0 ? "no answer" : st}: ${n}`)
      .join(", ");
    return `| ${kind} | ${l.length} | ${statuses} | ${f0(percentile(l, 0.5))} | ${f0(percentile(l, 0.99))} | ${f0(l.at(-1) ?? Number.NaN)} |`;
  });
  return `| storm users' requests from the kill on | count | statuses | p50 ms | p99 ms | max ms |
|---|---:|---|---:|---:|---:|
${rows.join("\n")}

At most ${run.stats.maxInFlight} of these waited for an answer at once; the bench's fetch sends ${run.httpMax} at a time (a queue of its own that 5,000 browsers would not share; the other users' requests are made by a process of their own, bench/lib/storm-others.ts, so they never wait in it; replica 2's proxy sends 256 at a time, Bun's default).`;
}

function others(run: StormRun): string {
  const rows: string[] = [];
  for (const kind of ["send", "read"] as const)
    for (const path of ["web", "direct"] as const) {
      const mine = run.samples.filter((x) => x.kind === kind && x.path === path);
      if (!mine.length) continue;
      for (const [label, w] of Object.entries(run.windows)) {
        const r = summarize(mine, w[0], w[1]);
        const failed = r.failed
          ? `${r.failed} (${Object.entries(r.statuses)
              .map(([st, n]) => `${st === "0" ? "no answer" : st} × ${n}`)
              .join(", ")})`
          : "0";
        rows.push(
          `| ${kind === "send" ? "send (POST …/messages)" : "history (GET …/messages?before=)"} | ${
            path === "web" ? "through replica 2" : "straight to the api"
          } | ${label} | ${r.count} | ${failed} | ${f1(r.p50)} | ${f1(r.p99)} | ${f1(r.max)} |`,
        );
      }
    }
  return `| other users' request | path | window | count | failed | p50 ms | p99 ms | max ms |
|---|---|---|---:|---:|---:|---:|---:|
${rows.join("\n")}`;
}

function cpu(run: StormRun): string {
  const names = [...new Set([...Object.keys(run.cpu.before), ...Object.keys(run.cpu.storm)])];
  const w = run.windows;
  const rows = names.map(
    (n) =>
      `| ${n} | ${f0(run.cpu.before[n] ?? Number.NaN)} | ${f0(run.cpu.storm[n] ?? Number.NaN)} | ${f0(run.cpu.after[n] ?? Number.NaN)} |`,
  );
  const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return `| process (% of one core) | before (${sec(w.before[1] - w.before[0])} s) | storm (${sec(w.storm[1] - w.storm[0])} s) | after (${sec(w.after[1] - w.after[0])} s) |
|---|---:|---:|---:|
${rows.join("\n")}
| **all of them** (200 = both cores) | ${f0(total(run.cpu.before))} | ${f0(total(run.cpu.storm))} | ${f0(total(run.cpu.after))} |

The bench process's timers fired late by p99 ${f0(run.lag.before.p99)} / max ${f0(run.lag.before.max)} ms before, p99 ${f0(run.lag.storm.p99)} / max ${f0(
    run.lag.storm.max,
  )} ms during the storm, p99 ${f0(run.lag.after.p99)} / max ${f0(run.lag.after.max)} ms after (its clients' times include that). Resident memory: realtime-2 ${f0(
    run.rss.before["realtime-2"]!,
  )} → ${f0(run.rss.storm["realtime-2"]!)} MiB, api ${f0(run.rss.before.api!)} → ${f0(run.rss.storm.api!)} MiB.`;
}

/** Scans and rows per collection in the storm, less what the other users' load did in as long a baseline. */
function database(run: StormRun): string {
  const d = run.database;
  if (!d) return "not measured (no PostgreSQL behind the database: MONGO_URL was set)";
  const users = run.clients.length;
  const rate = (w: { from: DbWork; to: DbWork; seconds: number }, name: string, key: "scans" | "rows") =>
    ((w.to.tables.get(name)?.[key] ?? 0) - (w.from.tables.get(name)?.[key] ?? 0)) / w.seconds;
  const rows = [...d.storm.to.tables.keys()]
    .map((name) => {
      const scans = rate(d.storm, name, "scans") * d.storm.seconds;
      const own = scans - rate(d.baseline, name, "scans") * d.storm.seconds;
      const read = (rate(d.storm, name, "rows") - rate(d.baseline, name, "rows")) * d.storm.seconds;
      return { name, scans, own, read };
    })
    .filter((r) => r.scans > 0)
    .sort((a, b) => b.own - a.own);
  const commits = d.storm.to.commits - d.storm.from.commits;
  const ownCommits =
    commits - ((d.baseline.to.commits - d.baseline.from.commits) / d.baseline.seconds) * d.storm.seconds;
  return `| collection (FerretDB table) | scans in the storm | per reconnecting user (less the baseline's rate) | rows read per user (same) |
|---|---:|---:|---:|
${rows.map((r) => `| ${r.name} | ${f0(r.scans)} | ${(r.own / users).toFixed(2)} | ${(r.read / users).toFixed(1)} |`).join("\n")}
| **all** | ${f0(rows.reduce((n, r) => n + r.scans, 0))} | **${(rows.reduce((n, r) => n + r.own, 0) / users).toFixed(2)}** | ${(rows.reduce((n, r) => n + r.read, 0) / users).toFixed(1)} |

PostgreSQL committed ${f0(commits)} transactions in the storm (${(ownCommits / users).toFixed(1)} per reconnecting user, less the baseline's rate; FerretDB runs each statement in one).`;
}

function metrics(rows: [string, number][]): string {
  return rows
    .slice(0, 14)
    .map(([series, n]) => `| \`${series.replace(/^http_request_duration_seconds_count/, "requests")}\` | ${n} |`)
    .join("\n");
}

export function renderStormReport(run: StormRun): string {
  const o = run.opts;
  const storm = run.windows.storm;
  const sentInStorm = run.samples.filter(
    (x) => x.kind === "send" && x.at >= storm[0] && x.at < storm[1] && x.status === 201,
  ).length;
  const conflicts = run.clients.reduce((n, c) => n + c.conflicts, 0);
  const dups = run.clients.reduce((n, c) => n + c.wireDuplicates, 0);
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  return `# A replica killed with ${run.clients.length} connected users

- command: \`${run.command}\`${run.profiled ? ` (PROFILE_DIR=${run.profiled}: the services ran under the profiler, which slows them)` : ""}
- when: ${new Date().toISOString()}; commit ${commit}
- machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at the start ${run.loadBefore.map((x) => x.toFixed(2)).join(" ")}, at the end ${run.loadAfter.map((x) => x.toFixed(2)).join(" ")}
- everything on this machine shares its 2 cores: PostgreSQL, FerretDB, Redis, the api, both replicas, and the bench process holding every client
- seeded straight into the database (bulk inserts in the api's document shapes, tokens signed as the api signs them) in ${sec(run.seedMs)} s: ${run.people.storm} storm users in ${run.people.stormConversations} conversations of 10 (9 storm users and 1 other user), ${run.people.others} other users (also ${run.people.otherConversations} conversations among themselves)
- storm users: one socket each on replica 1 (connected 250 at a time with their catch-up, ${sec(run.connectMs)} s in all, then left for over ${o.baselineS} s so each connection is "stable" as the frontend counts it); clients that behave as the browser does (bench/lib/storm-client.ts: the frontend's SocketClient and reconnect plan; the frontend's rule for marks (contract/marks: a \`ready\` whose marks say nothing was missed asks for nothing); after any other \`ready\`, GET /api/conversations, GET …/messages?after=<last contiguous seq>&limit=100, then GET …/changes?since=<rev>&limit=100 only when that page's change head is past the thread's rev), their socket${o.rest === "api" ? " through the load balancer (which after the kill sends them to replica 2), their requests straight to the api (`--rest api`: an Ingress routing /api to the api)" : " and requests through the load balancer (a replica's /api proxy), which after the kill sends them to replica 2"}
- other users: one socket each on replica 2; open-loop (the api's send rate limit raised: one person's outbox sends one at a time, this open loop does not) ${o.sendRate} sends/s (${o.stormShare * 100} % into the storm users' conversations, round robin) and ${o.readRate} history reads/s; ${o.direct} of them call the api directly (as behind an Ingress that routes /api to the api), the others through replica 2's /api proxy
- the kill: SIGKILL of replica 1 at ${new Date(run.epochs.killed).toISOString()}; the storm window ends when every storm user is back and the catch-up its \`ready\` started has answered, complete or failed (or after ${o.timeoutS} s), here at ${new Date(run.epochs.stormEnd).toISOString()}${
    run.profiled
      ? `; the services' CPU during it: \`bun bench/profile-window.ts ${run.profiled}/<service>-*.cpuprofile --from ${run.epochs.killed} --to ${run.epochs.stormEnd}\``
      : ""
  }

## Sockets to \`ready\` on a fresh replica

${
  run.ready.length
    ? `| ${run.ready[0]!.sockets} sockets, each a different user | until all ready | per socket p50 / p99 / max | replica CPU meanwhile |
|---|---:|---:|---:|
${run.ready.map((r) => `| ${r.label} | **${f0(r.ms)} ms** | ${f0(r.perSocket.p50)} / ${f0(r.perSocket.p99)} / ${f0(r.perSocket.max)} ms | ${f0(r.cpu)} % of a core |`).join("\n")}`
    : "not measured (--ready-sockets 0)"
}

## The storm

${timeline(run)}

${attempts(run)}

${requests(run)}

Messages: ${run.ledger.size} sent in all, ${sentInStorm} during the storm window. Once the senders stopped, ${run.lostAfterSettle} messages were missing from a storm user's thread (none lost: 0), ${conflicts} seqs held a different message than the api's, ${dups} messages arrived twice over the wire (live and caught up: expected, held once). Other users' sockets closed meanwhile: ${run.otherSockets}.

## Other users meanwhile

${others(run)}

## CPU

${cpu(run)}

## What the database did

${database(run)}

## Counters that grew during the storm

| replica 2 | count |
|---|---:|
${metrics(run.metrics.replica2)}

| api | count |
|---|---:|
${metrics(run.metrics.api)}
`;
}
