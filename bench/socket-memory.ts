/**
 * What an idle socket costs one realtime replica, and in what (issue 14's "≤ 5 KB per idle
 * socket"): throwaway Redis and database, the api, one replica started with bench/lib/heap-hook.ts.
 * N users in conversations of 10 are seeded; sockets open 50 at a time, first FIRST of them, then
 * the rest, each step followed by the replica loading every user's contacts, a settle period and a forced
 * collection. Reports the replica's
 * RSS per socket for the first step (one-time costs included) and per socket added after it (the
 * marginal cost), the JavaScript heap per socket, and which object types grew.
 *
 *   node_modules/.bin/bun bench/socket-memory.ts [--users 3000] [--first 1000] [--settle 10] [--out bench/results/socket-memory.md]
 *     [--bun-arg=--smol] [--env KEY=VALUE]   (a setting of the replica to weigh; repeatable)
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/infra.ts";
import { waitFor } from "../scripts/lib/ports.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { startTestInfra } from "../scripts/lib/testinfra.ts";
import { seedConversations, seedUsers, tokenSigner, withDb } from "./lib/seed.ts";
import { procFigures } from "./peers/load.ts";
import { keyValues } from "./lib/args.ts";
import { scrape } from "./lib/storm-measure.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "3000" },
    first: { type: "string", default: "1000" },
    settle: { type: "string", default: "10" },
    out: { type: "string", default: join(ROOT, "bench/results/socket-memory.md") },
    // to weigh a setting: a Bun option for the replica (e.g. --smol), its environment (KEY=VALUE)
    "bun-arg": { type: "string", multiple: true, default: [] },
    env: { type: "string", multiple: true, default: [] },
  },
});
const BUN_ARGS = values["bun-arg"] ?? [];
const REPLICA_ENV = keyValues(values.env ?? [], "--env");
const SETTINGS = [...BUN_ARGS.map((a) => `--bun-arg=${a}`), ...(values.env ?? []).map((e) => `--env ${e}`)].join(" ");
const N = Math.min(Math.max(Number(values.users), 100), 10_000);
const FIRST = Math.min(Math.max(Number(values.first), 50), N - 50);
const SETTLE_MS = Math.min(Number(values.settle), 60) * 1000;

type Heap = {
  heapSize: number;
  extraMemorySize: number;
  objectCount: number;
  objectTypeCounts: Record<string, number>;
};

const load = [loadavg()[0]!];
const infra = await startTestInfra();
const dir = mkdtempSync(join(tmpdir(), "parley-socket-memory-"));
let stop = async () => {};
try {
  const secret = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
  const dbUrl = `${infra.mongoUrl.replace(/\/?$/, "/")}socket_memory`;
  const users = await withDb(dbUrl, async (db) => {
    const seeded = await seedUsers(db, N);
    const lists: number[][] = [];
    for (let i = 0; i < N; i += 10) lists.push(Array.from({ length: Math.min(10, N - i) }, (_, k) => i + k));
    await seedConversations(db, seeded, lists);
    return seeded;
  });
  const stack = await startStack({
    mongoUrl: dbUrl,
    redisUrl: infra.redisUrl,
    jwtSecret: secret,
    replicas: 1,
    logs: dir,
    extraEnv: { LOG_LEVEL: "warn" },
    realtimeEnv: { STATIC_DIR: join(dir, "none"), HEAP_HOOK_DIR: dir, ...REPLICA_ENV },
    realtimeBunArgs: [...BUN_ARGS, "--preload", join(ROOT, "bench/lib/heap-hook.ts")],
    readyTimeoutMs: 120_000,
  });
  stop = () => stack.stop();
  const replica = stack.children.find((c) => c.name === "realtime-1")!.proc;
  const port = new URL(stack.realtimeUrls[0]!).port;
  const rssKiB = () => procFigures(replica.pid).rssKiB;
  let snapshots = 0;
  const snapshot = async (): Promise<{ rss: number; heap: Heap }> => {
    replica.kill("SIGUSR2");
    const file = join(dir, `heap-${replica.pid}-${snapshots++}.json`);
    await waitFor(
      "the heap figures",
      async () => (await Bun.file(file).exists()) && (await Bun.file(file).size) > 0,
      30_000,
    );
    await Bun.sleep(200);
    return { rss: rssKiB(), heap: JSON.parse(readFileSync(file, "utf8")) as Heap };
  };
  /** GET /api/conversations answered by the api so far (the replica asks one per arriving user) */
  const contactListsAnswered = async () => {
    const series = await scrape(`${stack.apiUrl}/metrics`);
    for (const [name, value] of series)
      if (
        name.startsWith("http_request_duration_seconds_count{") &&
        name.includes('method="GET"') &&
        name.includes('route="/api/conversations"') &&
        name.includes('status="200"')
      )
        return value;
    return 0;
  };
  const sign = await tokenSigner(secret);
  const sockets: WebSocket[] = [];
  const open = async (from: number, to: number) => {
    const t0 = performance.now();
    for (let i = from; i < to; i += 50)
      await Promise.all(
        users.slice(i, Math.min(i + 50, to)).map(async (u) => {
          const token = await sign(u);
          await new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
            sockets.push(ws);
            ws.onmessage = (e) => {
              if (String(e.data).includes('"ready"')) resolve();
            };
            ws.onclose = (e) => reject(new Error(`socket closed with ${e.code} before ready`));
          });
        }),
      );
    const seconds = (performance.now() - t0) / 1000;
    // settled: every user's contact list answered (the replica asks them after `ready`, a few at a time)
    await waitFor("every contact list loaded", async () => (await contactListsAnswered()) >= to, 300_000);
    await Bun.sleep(SETTLE_MS);
    return seconds;
  };

  await Bun.sleep(3000);
  const before = await snapshot();
  const firstOpen = await open(0, FIRST);
  const afterFirst = await snapshot();
  const restOpen = await open(FIRST, N);
  const after = await snapshot();
  load.push(loadavg()[0]!);
  for (const s of sockets) s.close();

  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const per = (a: number, b: number, count: number) => ((b - a) / count).toFixed(1);
  const grew = Object.entries(after.heap.objectTypeCounts)
    .map(([type, count]) => [type, count - (afterFirst.heap.objectTypeCounts[type] ?? 0)] as const)
    .filter(([, d]) => d >= (N - FIRST) / 4)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20);
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const report = `# What an idle socket costs a realtime replica

- date: ${new Date().toISOString()}; commit ${commit}; load average (1 min) ${load.map((l) => l.toFixed(2)).join(" → ")}
- command: \`node_modules/.bin/bun bench/socket-memory.ts --users ${N} --first ${FIRST} --settle ${SETTLE_MS / 1000}${SETTINGS ? ` ${SETTINGS}` : ""}\`
- one realtime replica (Bun ${Bun.version}) with the real api, Redis and database; ${N} users seeded in conversations of 10 (so
  each has 9 contacts whose presence it follows), one socket each, opened 50 at a time; after each step, once every user's contact list was loaded, ${SETTLE_MS / 1000} s idle,
  then a forced collection (JavaScriptCore and mimalloc, \`Bun.gc(true)\` in bench/lib/heap-hook.ts) before RSS is read.

| | first ${FIRST} sockets (one-time costs included) | the next ${N - FIRST} (marginal) |
|---|---:|---:|
| opened in | ${firstOpen.toFixed(2)} s | ${restOpen.toFixed(2)} s |
| **RSS per socket** | **${per(before.rss, afterFirst.rss, FIRST)} KiB** | **${per(afterFirst.rss, after.rss, N - FIRST)} KiB** |
| JavaScript heap per socket | ${per(before.heap.heapSize, afterFirst.heap.heapSize, FIRST * 1024)} KiB | ${per(afterFirst.heap.heapSize, after.heap.heapSize, (N - FIRST) * 1024)} KiB |
| memory the heap's objects hold outside it, per socket | ${per(before.heap.extraMemorySize, afterFirst.heap.extraMemorySize, FIRST * 1024)} KiB | ${per(afterFirst.heap.extraMemorySize, after.heap.extraMemorySize, (N - FIRST) * 1024)} KiB |

RSS of the replica: ${mib(before.rss)} MiB before, ${mib(afterFirst.rss)} MiB after the first step, ${mib(after.rss)} MiB at the end.

Objects that grew with the marginal sockets (per socket: count ÷ ${N - FIRST}):

| type | count | per socket |
|---|---:|---:|
${grew.map(([type, d]) => `| ${type} | ${d} | ${(d / (N - FIRST)).toFixed(1)} |`).join("\n")}
`;
  writeFileSync(values.out!, report);
  console.log(report);
} finally {
  await stop();
  await infra.stop();
}
