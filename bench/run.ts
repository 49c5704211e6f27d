/**
 * `npm run bench`: every benchmark in turn, with modest sizes (a few minutes in all on a 2-core
 * machine), then where each wrote its results. Each benchmark starts and stops its own
 * throwaway Redis / database / processes; nothing here depends on a running `npm start`.
 *
 *   node_modules/.bin/bun bench/run.ts [--only send-path,scale,fanout,storm,peers,fanout-knee]
 *
 * Larger runs: call a benchmark directly (see bench/README.md for each one's options).
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/infra.ts";

type Bench = { name: string; what: string; cmd: string[]; env?: Record<string, string>; timeoutMs: number };

const BUN = process.execPath;
const BENCHES: Bench[] = [
  {
    name: "send-path",
    what: "1000 sockets on two replicas, open-loop REST sends: the knee, held 60 s, saturation and the database floor",
    cmd: [BUN, "bench/send-path.ts"],
    timeoutMs: 20 * 60_000,
  },
  {
    name: "scale",
    what: "history, conversation list, user search and send latency at 100,000 messages (the 1M run: bench/README.md)",
    cmd: [
      BUN,
      "bench/scale.ts",
      "--messages",
      "100000",
      "--conversations",
      "1000",
      "--users",
      "2000",
      "--heavy",
      "200",
    ],
    timeoutMs: 20 * 60_000,
  },
  {
    name: "fanout",
    what: "fan-out latency through two realtime replicas (REST end to end, and direct publish)",
    // shorter than fanout.ts's default, so written beside fanout.md rather than over it
    cmd: [
      BUN,
      "bench/fanout.ts",
      "--users",
      "50",
      "--group",
      "5",
      "--rate",
      "5",
      "--direct-rate",
      "100",
      "--seconds",
      "10",
      "--out",
      join(ROOT, "bench/results/fanout-50u-5g-5r-100d-10s.md"),
    ],
    timeoutMs: 10 * 60_000,
  },
  {
    name: "storm",
    what: "a realtime replica killed with 1,000 connected users: back on the other replica and caught up (the 5,000 run: bench/README.md)",
    // smaller than reconnect-storm.ts's default, so written beside reconnect-storm.md rather than over it
    cmd: [BUN, "bench/reconnect-storm.ts", "--users", "1000"],
    timeoutMs: 10 * 60_000,
  },
  {
    name: "peers",
    what: "Parley realtime side by side with Socket.IO 4 + redis-adapter (memory per socket, delivery latency, CPU)",
    cmd: [BUN, "bench/peers/compare.ts", "--sockets", "1000", "--rate", "200", "--seconds", "15"],
    timeoutMs: 10 * 60_000,
  },
  {
    name: "fanout-knee",
    what: "the fan-out knee (rooms of 10, p99 < 50 ms, nothing lost) of Socket.IO, two baselines and Parley realtime, side by side",
    cmd: [BUN, "bench/fanout-knee.ts"],
    timeoutMs: 30 * 60_000,
  },
];

const { values } = parseArgs({ options: { only: { type: "string" } } });
const only = values.only
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((n) => !BENCHES.some((b) => b.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
const selected = BENCHES.filter((b) => !only || only.includes(b.name));

const RESULTS = join(ROOT, "bench/results");
/** result file → mtime, to tell afterwards which files a benchmark wrote (each names its own) */
function snapshot(): Map<string, number> {
  const files = new Map<string, number>();
  for (const name of readdirSync(RESULTS)) files.set(name, statSync(join(RESULTS, name)).mtimeMs);
  return files;
}

const outcomes: { bench: Bench; code: number | null; seconds: number; wrote: string[] }[] = [];
for (const bench of selected) {
  console.log(
    `\n=== ${bench.name}: ${bench.what}\n    ${bench.cmd.slice(1).join(" ")}${
      bench.env
        ? `  (${Object.entries(bench.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")})`
        : ""
    }`,
  );
  const before = snapshot();
  const t0 = performance.now();
  // In its own process group (setsid), so a hung benchmark is stopped together with the
  // throwaway servers it started, and Ctrl-C here stops them too.
  const proc = Bun.spawn(["setsid", ...bench.cmd], {
    cwd: ROOT,
    env: { ...process.env, ...bench.env },
    stdout: "inherit",
    stderr: "inherit",
  });
  const stopGroup = () => {
    try {
      process.kill(-proc.pid, "SIGTERM");
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    console.error(`[bench] ${bench.name} exceeded ${bench.timeoutMs / 60_000} min: stopping it`);
    stopGroup();
  }, bench.timeoutMs);
  const onSignal = () => {
    stopGroup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const code = await proc.exited;
  clearTimeout(timer);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  const wrote = [...snapshot()].filter(([name, t]) => t !== before.get(name)).map(([name]) => `bench/results/${name}`);
  outcomes.push({ bench, code, seconds: (performance.now() - t0) / 1000, wrote });
}

console.log("\n=== results");
for (const o of outcomes) {
  const status = o.code === 0 ? "ok" : `FAILED (exit ${o.code})`;
  console.log(
    `${o.bench.name.padEnd(11)} ${status.padEnd(16)} ${o.seconds.toFixed(0).padStart(4)} s  ${o.wrote.length ? `wrote ${o.wrote.join(", ")}` : "wrote no result file"}`,
  );
}
process.exit(outcomes.every((o) => o.code === 0) ? 0 : 1);
