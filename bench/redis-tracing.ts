/**
 * What ioredis' tracing costs a Bun process that nobody traces (kit/tracing-channel): the CPU of
 * one client process sending the same commands with Bun's `TracingChannel` as it is (no
 * `hasSubscribers`, so ioredis traces every command) and with the getter kit/tracing-channel adds,
 * in alternating child processes against one throwaway redis-server. Two shapes:
 *   - publisher: pipelines of three events, each an HSET of two fields, an MGET of ten keys and
 *     two PUBLISHes of a 400-byte message (kit/route's commands per event, as the api sends them);
 *   - one by one: GET, INCR, EXPIRE awaited in turn (a request's own commands).
 *
 *   node_modules/.bin/bun bench/redis-tracing.ts [--rounds 4] [--commands 120000] [--out bench/results/redis-tracing.md]
 *
 * CPU is the child's process.cpuUsage() over its loop (user, and user + system), per 100,000 commands.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startRedis, stopAll } from "../scripts/lib/infra.ts";
import { freePort } from "../scripts/lib/ports.ts";
import { commitOf } from "./knee/report.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    commands: { type: "string", default: "120000" },
    out: { type: "string", default: "bench/results/redis-tracing.md" },
    child: { type: "string" },
    url: { type: "string" },
    fix: { type: "string" },
  },
});

type Shape = "publisher" | "one by one";
type Sample = { shape: Shape; fixed: boolean; cpuMs: number; userMs: number; wallMs: number; commands: number };

if (values.child) {
  // the child: ioredis loaded after (or without) the getter, as a service would load it
  if (values.fix === "1") await import("@parley/kit/tracing-channel");
  const { default: Redis } = await import("ioredis");
  const redis = new Redis(values.url!);
  const shape = values.child as Shape;
  const total = Number(values.commands);
  const payload = "x".repeat(400);
  const keys = Array.from({ length: 10 }, (_, i) => `route:${i}`);
  const run = async (n: number) => {
    let sent = 0;
    while (sent < n) {
      if (shape === "publisher") {
        const p = redis.pipeline();
        for (let e = 0; e < 3; e++) {
          p.hset("marks", `a${e}`, sent, `b${e}`, sent)
            .mget(...keys)
            .publish("replica:1", payload)
            .publish("replica:2", payload);
        }
        await p.exec();
        sent += 12;
      } else {
        await redis.get("k");
        await redis.incr("counter");
        await redis.expire("counter", 60);
        sent += 3;
      }
    }
    return sent;
  };
  await run(Math.min(12_000, total / 10)); // warm-up (JIT), not counted
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const commands = await run(total);
  const cpu = process.cpuUsage(cpu0);
  const sample: Sample = {
    shape,
    fixed: values.fix === "1",
    cpuMs: (cpu.user + cpu.system) / 1000,
    userMs: cpu.user / 1000,
    wallMs: performance.now() - t0,
    commands,
  };
  console.log(JSON.stringify(sample));
  redis.disconnect();
  process.exit(0);
}

const rounds = Math.max(1, Number(values.rounds));
const dir = mkdtempSync(join(tmpdir(), "parley-bench-tracing-"));
const port = await freePort();
const redisChild = await startRedis({ port, dataDir: join(dir, "redis"), persist: false, quiet: true });
const url = `redis://127.0.0.1:${port}`;
const loadAtStart = loadavg()[0]!.toFixed(2);
const samples: Sample[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    for (const shape of ["publisher", "one by one"] as Shape[]) {
      // alternate which goes first, so a drift of the machine falls on both
      for (const fix of r % 2 === 0 ? ["0", "1"] : ["1", "0"]) {
        const args = ["--child", shape, "--url", url, "--fix", fix, "--commands", values.commands!];
        const child = Bun.spawnSync([process.execPath, import.meta.path, ...args], { stderr: "inherit" });
        if (child.exitCode !== 0) throw new Error(`${shape} child exited ${child.exitCode}: ${child.stdout}`);
        const sample = JSON.parse(child.stdout.toString().trim().split("\n").pop()!) as Sample;
        samples.push(sample);
        console.error(
          `[bench] ${shape}, ${fix === "1" ? "with the getter" : "as Bun is"}: ${per100k(sample, true).toFixed(0)} ms user, ${per100k(sample).toFixed(0)} ms in all per 100k commands`,
        );
      }
    }
  }
} finally {
  await stopAll([redisChild]);
  rmSync(dir, { recursive: true, force: true });
}

function per100k(s: Sample, user = false): number {
  return ((user ? s.userMs : s.cpuMs) / s.commands) * 100_000;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const rows = (["publisher", "one by one"] as Shape[]).flatMap((shape) =>
  [true, false].map((user) => {
    const of = (fixed: boolean) =>
      samples.filter((s) => s.shape === shape && s.fixed === fixed).map((s) => per100k(s, user));
    const [as, fixed] = [of(false), of(true)];
    const saved = 1 - median(fixed) / median(as);
    const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
    return `| ${shape} | ${user ? "user" : "user + system"} | ${median(as).toFixed(0)} (${list(as)}) | ${median(fixed).toFixed(0)} (${list(fixed)}) | ${(saved * 100).toFixed(0)} % |`;
  }),
);

const md = `# ioredis' tracing on Bun: what a process that nobody traces pays

- date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), shared; load average (1 min) at the start ${loadAtStart}, at the end ${loadavg()[0]!.toFixed(2)}
- runtime: Bun ${Bun.version}; ioredis ${(await import("ioredis/package.json")).version}; commit ${commitOf()}
- command: \`node_modules/.bin/bun bench/redis-tracing.ts --rounds ${rounds} --commands ${values.commands}\`

Bun's \`TracingChannel\` has no \`hasSubscribers\` (oven-sh/bun#27805), and ioredis traces a command unless that getter
says false, so on Bun every command is traced for nobody. kit/tracing-channel adds the getter as Node defines it.
CPU of the client process per 100,000 commands (user: its JavaScript and ioredis; user + system: with its socket writes and reads), median of ${rounds} alternating child processes (each run in brackets):

| shape | CPU | as Bun is (ms) | with the getter (ms) | saved |
|---|---|---|---|---|
${rows.join("\n")}

- publisher: pipelines of three events, each HSET (two fields), MGET (ten keys), two PUBLISHes of 400 bytes: kit/route's commands per event.
- one by one: GET, INCR, EXPIRE, each awaited: a request's own commands.
- The client's CPU only; Redis does the same work either way.
`;
writeFileSync(values.out!, md);
console.error(`[bench] results written to ${values.out}`);
