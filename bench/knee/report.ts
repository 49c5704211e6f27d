/** bench/results/fanout-knee.md from the results of bench/fanout-knee.ts. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/infra.ts";
import { PEER_DIR } from "../peers/servers.ts";
import { ROOM_SIZE, ROOMS } from "./protocol.ts";
import type { RampOptions, RunResult, StepResult } from "./ramp.ts";
import type { ServerKind } from "./protocol.ts";

export type ServerResult = {
  kind: ServerKind;
  label: string;
  notes: string;
  quiet: { load: number; waited: number };
  loadStart: number;
  loadEnd: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  kibPerSocket: number;
  sockets: number;
  openSeconds: number;
  redis: { channels: number; patterns: number };
  clockSkewMs: number;
  steps: StepResult[];
  knee: number;
  firstFail?: number;
  cpuStep: StepResult;
  seconds: number;
};

export type ReportInput = {
  startedAt: Date;
  commit: string;
  results: ServerResult[];
  ramp: RampOptions;
  opts: {
    cpuRate: number;
    clients: number;
    publishers: number;
    processes: number;
    settle: number;
    idle: number;
  };
  argv: string[];
};

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;

function versionIn(dir: string, pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, "node_modules", pkg, "package.json"), "utf8")) as { version: string })
      .version;
  } catch {
    return "?";
  }
}

const sh = (cmd: string[]) => Bun.spawnSync(cmd, { cwd: ROOT }).stdout.toString().trim();

function debian(): string {
  try {
    return `Debian ${readFileSync("/etc/debian_version", "utf8").trim()}`;
  } catch {
    return "linux";
  }
}

function lostCell(x: RunResult): string {
  const extra = [
    x.duplicates && `${f0(x.duplicates)} duplicated`,
    x.misrouted && `${f0(x.misrouted)} misrouted`,
    x.closed && `${f0(x.closed)} sockets closed by the server`,
    x.early && `${f0(x.early)} timed before their schedule`,
  ].filter(Boolean);
  return `${f0(x.lost)}${extra.length ? ` (${extra.join(", ")})` : ""}`;
}

/** The run of a step whose p99 is the step's median (the one a reader would pick). */
const medianRun = (s: StepResult): RunResult =>
  [...s.runs].sort((a, b) => a.p99 - b.p99)[Math.floor((s.runs.length - 1) / 2)]!;

function cpuSplit(s: StepResult | undefined): string {
  if (!s) return "n/a";
  const m = (f: (r: RunResult) => number) => f0(median(s.runs.map(f)));
  return `servers ${m((r) => r.cpu.servers)} %, Redis ${m((r) => r.cpu.redis)} %, clients ${m((r) => r.cpu.clients)} % (the busiest worker ${m((r) => r.cpu.busiestClient)} %), publishers ${m((r) => r.cpu.publishers)} %`;
}

type Group = "servers" | "redis" | "publishers" | "clients";
const GROUPS: Group[] = ["servers", "redis", "publishers", "clients"];

/**
 * Where each server's whole path spends the machine at one rate they all hold (the CPU rate's runs):
 * per group of processes, % of one core, and of it the kernel's share. Medians of the runs.
 */
export function cpuWhere(results: ServerResult[], rate: number): string {
  const rows = results.map((r) => {
    const runs = r.cpuStep.runs;
    const m = (f: (x: RunResult) => number) => median(runs.map(f));
    const cell = (g: Group) => {
      const all = m((x) => x.cpu[g]);
      const kernel = runs.every((x) => x.cpu.kernel) ? m((x) => x.cpu.kernel![g]) : Number.NaN;
      return `${f0(all)} (${f0(all - kernel)} + ${f0(kernel)})`;
    };
    const total = m((x) => GROUPS.reduce((s, g) => s + x.cpu[g], 0));
    return { r, total, cells: GROUPS.map(cell) };
  });
  const bare = rows.find((x) => x.r.kind === "bare-bun");
  return `## Where the CPU goes at R=${f0(rate)} (every server's whole path, one rate)

% of one core over the measured window, median of the runs at R=${f0(rate)}; in brackets: user + kernel (system calls:
socket writes and reads, wake-ups). The knee is where the sum (with whatever else the machine runs) meets the ${cpus().length} cores, so a server whose
path costs more per message reaches it at a lower rate.

| server | servers | Redis | publishers | clients | all four | against bare Bun's |
|---|---|---|---|---|---|---|
${rows.map((x) => `| ${x.r.kind} | ${x.cells.join(" | ")} | ${f0(x.total)} | ${bare && bare !== x ? `${x.total >= bare.total ? "+" : ""}${f0(x.total - bare.total)}` : ""} |`).join("\n")}
`;
}

function why(s: StepResult, limit: number): string {
  const reasons: string[] = [];
  if (!(s.medianP99 < limit)) reasons.push(`median p99 ${f1(s.medianP99)} ms`);
  if (s.lost > 0) reasons.push(`${f0(s.lost)} lost`);
  return reasons.join(", ");
}

/**
 * The load generator's share where the fastest server stopped: is a client worker or the
 * publisher saturated (then the knee is the generator's), or are the servers and Redis?
 */
function loadGeneratorCheck(bare: ServerResult | undefined): string {
  const fail = bare?.steps.find((s) => s.rate === bare.firstFail);
  if (!bare || !fail) return "";
  const m = (f: (r: RunResult) => number) => median(fail.runs.map(f));
  const busiest = m((r) => r.cpu.busiestClient);
  const lag = m((r) => r.publishLagP99);
  const saturated = busiest > 85 || m((r) => r.cpu.publishers) > 85;
  return `
**Load generator check** (at bare Bun's first failing rate, ${f0(fail.rate)}/s, medians of its runs): the client workers used ${f0(m((r) => r.cpu.clients))} % of one core
together, the busiest one ${f0(busiest)} %; the publisher ${f0(m((r) => r.cpu.publishers))} % with a p99 lag of ${f1(lag)} ms; the servers ${f0(m((r) => r.cpu.servers))} %
and Redis ${f0(m((r) => r.cpu.redis))} %. ${
    saturated
      ? "A load generator process was close to a full core: this knee may be the load generator's, not the server's."
      : `No load generator process was near a full core, so none of them was the bottleneck by itself; but they ran on the same ${cpus().length} cores, and the CPU they used is CPU the servers did not get. The knee is this machine's with its load generator on it.`
  }
`;
}

/** The commit, and whether the code measured differs from it. */
export function commitOf(): string {
  const dirty = sh([
    "git",
    "status",
    "--porcelain",
    "--",
    "bench",
    ":!bench/results",
    "realtime/src",
    "api/src",
    "contract",
    "kit",
  ]);
  return `${sh(["git", "rev-parse", "--short", "HEAD"])}${dirty ? " (with uncommitted changes)" : ""}`;
}

export function renderKneeReport({ startedAt, commit, results, ramp, opts, argv }: ReportInput): string {
  const node = sh(["node", "--version"]);
  const redisVersion = sh(["redis-server", "--version"]).match(/v=(\S+)/)?.[1] ?? "?";
  const limit = ramp.p99LimitMs;
  const bare = results.find((r) => r.kind === "bare-bun");

  const mainRows = results.map((r) => {
    const c = r.cpuStep;
    const server = median(c.runs.map((x) => x.serverCpuPer10k));
    const redis = median(c.runs.map((x) => x.redisCpuPer10k));
    const knee = r.knee > 0 ? f0(r.knee) : `< ${f0(Math.min(...r.steps.map((s) => s.rate)))}`;
    const note = c.pass ? "" : ` (R=${f0(c.rate)} failed: ${why(c, limit)})`;
    return `| ${r.label} | **${knee}** | ${r.knee > 0 ? f0(r.knee * ROOM_SIZE) : "n/a"} | ${f1(server)} % of a core (+ Redis ${f1(redis)} %)${note} | ${f1(r.kibPerSocket)} KiB | ${f2(r.openSeconds)} s |`;
  });

  const stepRows = results.flatMap((r) =>
    r.steps
      .concat(r.steps.some((s) => s.rate === r.cpuStep.rate) ? [] : [r.cpuStep])
      .flatMap((s) =>
        s.runs.map(
          (x, i) =>
            `| ${r.kind} | ${f0(s.rate)} | ${i + 1} | ${f2(x.p50)} | ${f2(x.p99)} | ${f1(x.max)} | ${lostCell(x)} | ${f0(x.cpu.servers)} | ${f0(x.cpu.redis)} | ${f0(x.cpu.clients)} (${f0(x.cpu.busiestClient)}) | ${f0(x.cpu.publishers)} | ${f1(x.publishLagP99)} / ${f1(x.publishLagMax)} | ${f1(x.load)} | ${i === s.runs.length - 1 ? `${s.pass ? "**pass**" : "fail"} (median p99 ${f1(s.medianP99)})` : ""} |`,
        ),
      ),
  );

  const reading = results.map((r) => {
    const kneeStep = r.steps.find((s) => s.rate === r.knee);
    const failStep = r.steps.find((s) => s.rate === r.firstFail);
    const vsBare =
      bare && bare !== r && bare.knee > 0 && r.knee > 0
        ? ` (${Math.round((r.knee / bare.knee) * 100)} % of bare Bun's)`
        : "";
    return `- **${r.label}**: knee ${r.knee > 0 ? `${f0(r.knee)} messages/s = ${f0(r.knee * ROOM_SIZE)} deliveries/s` : "below the lowest rate tried"}${vsBare}${
      failStep ? `; first failing rate ${f0(failStep.rate)}/s (${why(failStep, limit)})` : "; no rate tried failed"
    }. CPU (% of one core, median of the runs; the machine has ${cpus().length} cores = ${cpus().length * 100} %) at the knee: ${cpuSplit(kneeStep)}; at the first failing rate: ${cpuSplit(failStep)}. Publisher lag at the first failing rate (p99 / max): ${failStep ? `${f1(medianRun(failStep).publishLagP99)} / ${f1(medianRun(failStep).publishLagMax)} ms` : "n/a"}.`;
  });

  return `# Fan-out knee: Parley realtime, Socket.IO and two baselines, one sitting

- date: ${startedAt.toISOString()} (the sitting took ${f0(results.reduce((s, r) => s + r.seconds, 0) / 60)} min)
- machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${debian()}, kernel ${release()}; shared with other engineers' work
- runtimes: Bun ${Bun.version} (Parley realtime, the baselines, the load generator); Node ${node} (Socket.IO servers, its native runtime); redis-server ${redisVersion}; elysia ${versionIn(ROOT, "elysia")}, ioredis ${versionIn(ROOT, "ioredis")}; socket.io ${versionIn(PEER_DIR, "socket.io")}, @socket.io/redis-adapter ${versionIn(PEER_DIR, "@socket.io/redis-adapter")}, @socket.io/redis-emitter ${versionIn(PEER_DIR, "@socket.io/redis-emitter")}, socket.io-client ${versionIn(PEER_DIR, "socket.io-client")}
- commit: ${commit}
- command: \`node_modules/.bin/bun bench/fanout-knee.ts${argv.length ? ` ${argv.join(" ")}` : ""}\`
- load average (1 min) at the start / end of each server's run: ${results.map((r) => `${r.kind} ${f2(r.loadStart)} / ${f2(r.loadEnd)}${r.quiet.waited ? ` (waited ${r.quiet.waited} s for it)` : ""}`).join("; ")}

## Results

The knee is the highest rate R (messages/s, each delivered to the 10 members of one room) whose median p99 over
${ramp.runs} runs stays under ${limit} ms with nothing lost; deliveries/s = 10 R.

| server | knee (messages/s) | deliveries/s | CPU of the ${opts.processes} server processes per 10k deliveries/s at R=${f0(opts.cpuRate)} | idle memory per socket | time to open ${f0(results[0]?.sockets ?? 0)} sockets |
|---|---|---|---|---|---|
${mainRows.join("\n")}

${reading.join("\n")}
${loadGeneratorCheck(bare)}
${cpuWhere(results, opts.cpuRate)}

| server | RSS before / with the sockets (all processes) | Redis subscriptions with the sockets open | worker clocks agree within | run time |
|---|---|---|---|---|
${results.map((r) => `| ${r.kind} | ${f1(r.rssBeforeKiB / 1024)} / ${f1(r.rssAfterKiB / 1024)} MiB | ${r.redis.channels} channels, ${r.redis.patterns} patterns | ${f2(r.clockSkewMs)} ms | ${f0(r.seconds)} s |`).join("\n")}

## Every run

Latency = receipt in a client worker − the message's scheduled publish time (both epoch ms from \`performance.timeOrigin + performance.now()\`), so a
publisher running late counts against the server. CPU in % of one core over the measured window (first measured message to last delivery), from
utime+stime in /proc; "load" is the 1-minute load average at the end of the run; "clients" are the ${opts.clients} client workers, "publishers" the ${opts.publishers} publisher process${opts.publishers > 1 ? "es" : ""}.

| server | R (msg/s) | run | p50 ms | p99 ms | max ms | lost | servers % | Redis % | clients % (busiest) | publishers % | publish lag p99 / max ms | load | step |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${stepRows.join("\n")}

## How it was measured

- Per server, one after the other on one throwaway Redis: ${opts.processes} server processes; ${ROOMS} rooms of ${ROOM_SIZE} users, member j of a room on process ⌊j·${opts.processes}/${ROOM_SIZE}⌋ (${ROOM_SIZE / opts.processes} and ${ROOM_SIZE / opts.processes} on two processes), one socket per user (${ROOMS * ROOM_SIZE} sockets) held by ${opts.clients} client worker processes
  (\`bench/knee/client.ts\`, on Bun: Bun's \`WebSocket\`; socket.io-client for Socket.IO) so the load generator can use both cores.
  ${results.map((r) => `${r.kind}: ${r.notes}`).join("; ")}.
- Publishing (\`bench/knee/publisher.ts\`, open loop: message k at start + k/R whatever the servers do, everything due in a timer tick in one write), message k to room k mod ${ROOMS}, a realistic
  Parley \`message\` frame (bench/peers/servers.ts \`messageFrame\`, the one bench/peers/compare.ts sends) whose body is the scheduled time:
  Parley: exactly what the api does after a commit, \`encodeFanoutEvent(frame, committedAt)\` routed to the members by kit/route's \`EventRouter\` (on one Redis
  server the members' routes read with one MGET, then one PUBLISH per replica holding one, naming them; a tick's messages in one round trip of each); baselines: one PUBLISH of the frame on the room's channel \`bench:room:<id>\`
  (one channel per room, see bench/peers/baseline-rooms.ts), delivered with Bun's native topics (\`ws.subscribe(room)\`, \`server.publish(room, text)\`);
  Socket.IO: @socket.io/redis-emitter to room \`conversation:<id>\` (as a separate api would).
- A run: ${ramp.warmupSeconds} s warm-up (delivered, not counted), ${ramp.seconds} s measured, then up to ${ramp.drainSeconds} s for the last deliveries; lost = expected deliveries not received by then;
  duplicates and misrouted deliveries counted (none unless shown). Between runs the bench waits for the servers' CPU to fall back (their backlog gone).
  Ramp: ${ramp.rates.map(f0).join(", ")} messages/s, up to the first failing step, then ${ramp.refine} halving${ramp.refine === 1 ? "" : "s"} between the last pass and the first fail (rounded to 100).
  A step stops early once its outcome is decided (a loss, or a majority of runs over ${limit} ms).
- CPU per 10k deliveries/s: utime+stime of the server processes (and of redis-server, separately) over the measured window of the runs at R=${f0(opts.cpuRate)}, divided by the deliveries
  received in it, as % of one core per 10,000 deliveries/s (median of the runs). Idle memory per socket: VmRSS of the server processes ${opts.settle} s after start and
  ${opts.idle} s after the last socket was ready, difference ÷ sockets. Time to open: ${ROOMS * ROOM_SIZE} sockets, 50 at a time (spread over the client workers), until each said
  ready (Parley's \`ready\` frame; the baselines' \`ready\` frame, sent once the room's Redis subscription is confirmed; Socket.IO's \`ready\` event, emitted on connection after joining the rooms).
- Everything (servers, Redis, client workers, publishers, and for Parley its api and database) shares the machine's ${cpus().length} cores: a knee here is this machine's, with
  the load generator on the same cores. The CPU columns say where the cores went.

## What the designs do per message

- **Baselines** (bare Bun.serve, Elysia \`.ws\`): one Redis message per process per room message, handed as it is to Bun's topic of the room
  (\`server.publish\`), which writes it to the process's 5 members' sockets in native code: no JavaScript per delivery. Both have the same delivery path
  (\`bench/peers/baseline-rooms.ts\`); Elysia differs only at the upgrade (its context and query validation per socket, hence more memory per socket).
  A difference between their knees in one sitting is the machine's, not theirs.
- **Socket.IO** (default, non-sharded redis-adapter): every process PSUBSCRIBEs one pattern and receives every message (here every process holds every
  room, so none is thrown away); msgpack decode, one packet encoding per message, then a write per socket in JavaScript (engine.io).
- **Parley**: the api routes each event to replicas (kit/route): one MGET per message reads the 10 members' routes (which replicas hold them), then one
  PUBLISH per replica holding any of them, naming its recipients, so each replica receives one message per room message (as the baselines do), reads its head once
  (the frame's text is written as the api serialized it: \`readFanoutEvent\`) and writes it to each named user's sockets in JavaScript (\`ws.send\` per socket,
  where the baselines' topics write in native code). A replica needs no room state (the publisher names the recipients, exact at commit); the price is
  the routes' read, a second round trip for the publisher. In the same round trip as the MGET and before it, each member's newest mark is recorded
  (one HSET of the 10 members, kit/marks), so a client that reconnects learns from \`ready\` whether it missed anything.
- Per delivery, the client side costs about as much CPU as the server side (each socket is its own TCP connection: a write on one side, a read on the
  other, for every delivery). A minimal client that cuts whole TCP reads into frames itself was tried while building this bench and used the same CPU as
  Bun's \`WebSocket\`, so the cost is not the WebSocket client's JavaScript; it was not kept.

## Why Parley's path costs more than the bare server's, and what was tried

The table "Where the CPU goes" splits the difference by process. What Parley does per message that the bare server does not, and what it buys:
- **Publisher and Redis**: two round trips instead of one (the routes' MGET, then the PUBLISHes) and 20 more keys touched in Redis per message (10
  routes read, 10 marks written: hash-table lookups are Redis' largest share in its \`perf\` profile, bench/README.md). They buy exact delivery without
  room state (recipients named at commit: no subscription that can lag a membership change) and reconnects that cost the api nothing when nothing
  was missed (bench/results/reconnect-storm.md). The bare server has neither: no authentication, no membership, no way to know what a client missed.
- **Replicas**: a frame goes to each socket from JavaScript (\`ws.send\`, at the end of the turn, with the slow-client policy checked and frames held
  until \`ready\`), where Bun's topics write in native code. In the table's brackets: both spend about the same time in the kernel, which is most of
  it; the difference is user space (realtime's JavaScript, the JIT and the collector; \`perf\` profiles in bench/README.md).
  Writing alone (bench/results/socket-writes.md): Bun's topic per room beats realtime's writes by about a tenth at the knee's rates.
- **Past saturation**: once the cores are full, the bare server's path batches by itself (uWS writes a socket's topic messages together, once per
  loop iteration, and the clients read them together), so its CPU stays flat while its rate grows (compare its CPU columns across rates in "Every
  run"); Parley's replicas batch a socket's frames per turn too, but its publisher and Redis work per message and per key stays.

What the 90 % target would take is a different design, not a tuning: delivery by Bun's native topics per conversation (replicas holding room state,
and keeping the exactness at membership changes that named recipients give now), and far fewer keys and bytes per message for the publisher and
Redis than the 10 routes read, 10 marks written and the frame sent once per replica now. The publisher's second round trip is not what costs
(tried below: a microsecond of its CPU per event or less, bench/results/route-cost.md).

Tried (figures in bench/README.md and the issue notes): routing to replicas instead of a PUBLISH per member (kept: one Redis message per
replica); writes per turn (kept: fewer syscalls once frames pile up); the fan-out latency observed once per event per replica (kept); ioredis' tracing
skipped when nothing listens (kept, bench/results/redis-tracing.md: 8–16 % of a client's user CPU over two sittings, its whole CPU within the machine's noise); a round's events merged into one HSET, one MGET and
one PUBLISH per replica (no CPU difference back to back at 3,000/s nor at 10,000/s: the cost is per round trip and per key, not per command; not
kept); routing in a Lua script, per event or per round (one round trip fewer, 1.2–5.5 times the Redis CPU, bench/results/route-cost.md; not kept); routing in one
round trip, the router remembering the routes it read and publishing to them with the next read (in a MULTI with the marks), late where they
changed (the publisher used as much CPU or more, and the knee did not move up back to back; not kept); \`ready\` reading the marks right behind the
route's write instead of after its reply (a socket's wait under the burst is the replica's event loop, not the round trip; not kept); ioredis
auto-pipelining in realtime and a microtask instead of \`setImmediate\` for the turn's end (no difference; not kept).

## What the figures can and cannot say

- Once the ${cpus().length} cores are full (servers + clients + publisher ≈ ${cpus().length * 100} %), latency grows slowly with the rate, so where the p99 crosses ${limit} ms moves with
  whatever else the machine runs: compare the knees of one sitting, read the load column, and expect a knee to move by a step or two from one sitting
  to the next. CPU per 10k deliveries/s (at a rate every server holds) is the steadier figure.
- A knee that depends on the rate steps tried is only as fine as the last halving: the true knee lies between the knee and the first failing rate.
- Memory per socket is an RSS difference after a settle period (garbage not yet collected, allocator slack and the one-time costs of the first
  1,000 sockets included, such as code compiled and heap grown for them): a rough figure. What each further idle socket costs, after a forced
  collection, is bench/socket-memory.ts's (bench/results/socket-memory-5000.md).
`;
}
