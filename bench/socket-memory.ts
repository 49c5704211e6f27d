/**
 * What an idle socket costs one realtime replica, and in what (issue 14's "≤ 5 KB per idle
 * socket"), beside the bare Bun.serve + ioredis baseline (bench/peers/bare-bun.ts, not product)
 * measured the same way in the same sitting: throwaway Redis and database, the api, one replica
 * started with bench/lib/heap-hook.ts. N users in conversations of 10 are seeded; sockets open 50
 * at a time, first FIRST of them, then the rest, each step followed by the replica loading every
 * user's contacts, a settle period and a forced collection. Reports the RSS per socket for the
 * first step (one-time costs included) and per socket added after it (the marginal cost), the
 * JavaScript heap per socket, and which object types grew in the replica.
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
import { type SeededUser, seedConversations, seedUsers, tokenSigner, withDb } from "./lib/seed.ts";
import { procFigures } from "./peers/load.ts";
import { startBaseline } from "./peers/servers.ts";
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
type Snapshot = { rss: number; heap: Heap };
/** One server under measurement: its process, the socket URL of a user, and when a step has settled. */
type Target = {
  pid: number;
  socketUrl: (user: SeededUser, index: number) => Promise<string>;
  settled: (sockets: number) => Promise<void>;
};
type Measured = { before: Snapshot; afterFirst: Snapshot; after: Snapshot; firstOpen: number; restOpen: number };

const HEAP_HOOK = join(ROOT, "bench/lib/heap-hook.ts");
const load = [loadavg()[0]!];
const infra = await startTestInfra();
const dir = mkdtempSync(join(tmpdir(), "parley-socket-memory-"));
let stop = async () => {};

/** Forced collection in the process (heap-hook.ts, SIGUSR2), then its RSS and heap figures. */
const snapshots = new Map<number, number>();
async function snapshot(pid: number): Promise<Snapshot> {
  // the hook numbers its files from 0 in each process
  const n = snapshots.get(pid) ?? 0;
  snapshots.set(pid, n + 1);
  process.kill(pid, "SIGUSR2");
  const file = join(dir, `heap-${pid}-${n}.json`);
  await waitFor(
    "the heap figures",
    async () => (await Bun.file(file).exists()) && (await Bun.file(file).size) > 0,
    30_000,
  );
  await Bun.sleep(200);
  return { rss: procFigures(pid).rssKiB, heap: JSON.parse(readFileSync(file, "utf8")) as Heap };
}

/** The same steps for every target: FIRST sockets, then the rest, each settled and idle before its snapshot. */
async function measure(target: Target, users: SeededUser[]): Promise<Measured> {
  const sockets: WebSocket[] = [];
  const open = async (from: number, to: number) => {
    const t0 = performance.now();
    for (let i = from; i < to; i += 50)
      await Promise.all(
        users.slice(i, Math.min(i + 50, to)).map(async (u, k) => {
          const url = await target.socketUrl(u, i + k);
          await new Promise<void>((resolve, reject) => {
            const ws = new WebSocket(url);
            sockets.push(ws);
            ws.onmessage = (e) => {
              if (String(e.data).includes('"ready"')) resolve();
            };
            ws.onclose = (e) => reject(new Error(`socket closed with ${e.code} before ready`));
          });
        }),
      );
    const seconds = (performance.now() - t0) / 1000;
    await target.settled(to);
    await Bun.sleep(SETTLE_MS);
    return seconds;
  };
  await Bun.sleep(3000);
  const before = await snapshot(target.pid);
  const firstOpen = await open(0, FIRST);
  const afterFirst = await snapshot(target.pid);
  const restOpen = await open(FIRST, N);
  const after = await snapshot(target.pid);
  for (const s of sockets) s.close();
  return { before, afterFirst, after, firstOpen, restOpen };
}

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
    realtimeBunArgs: [...BUN_ARGS, "--preload", HEAP_HOOK],
    readyTimeoutMs: 120_000,
  });
  stop = () => stack.stop();
  /** GET /api/conversations/members answered by the api so far (the replica asks one per arriving user) */
  const contactListsAnswered = async () => {
    const series = await scrape(`${stack.apiUrl}/metrics`);
    for (const [name, value] of series)
      if (
        name.startsWith("http_request_duration_seconds_count{") &&
        name.includes('method="GET"') &&
        name.includes('route="/api/conversations/members"') &&
        name.includes('status="200"')
      )
        return value;
    return 0;
  };
  const sign = await tokenSigner(secret);
  const port = new URL(stack.realtimeUrls[0]!).port;
  const replica = stack.children.find((c) => c.name === "realtime-1")!.proc;
  const parley = await measure(
    {
      pid: replica.pid,
      socketUrl: async (u) => `ws://127.0.0.1:${port}/ws?token=${await sign(u)}`,
      // settled: every user's contact list answered (the replica asks them after `ready`, a few at a time)
      settled: async (to) => {
        await waitFor("every contact list loaded", async () => (await contactListsAnswered()) >= to, 300_000);
      },
    },
    users,
  );
  await stack.stop();

  // The baseline in the same sitting: each socket in its conversation's room (a room of 10)
  const bare = await startBaseline("bare-bun", {
    redisUrl: infra.redisUrl,
    processes: 1,
    logs: dir,
    bunArgs: ["--preload", HEAP_HOOK],
    env: { HEAP_HOOK_DIR: dir },
  });
  stop = () => bare.stop();
  const baseline = await measure(
    {
      pid: bare.pids[0]!,
      socketUrl: async (u, i) => `${bare.urls[0]}/ws?user=${u.id}&room=${users[i - (i % 10)]!.id}`,
      settled: async () => undefined,
    },
    users,
  );
  load.push(loadavg()[0]!);

  const mib = (kib: number) => (kib / 1024).toFixed(1);
  const per = (a: number, b: number, count: number) => ((b - a) / count).toFixed(1);
  const rssFirst = (m: Measured) => per(m.before.rss, m.afterFirst.rss, FIRST);
  const rssRest = (m: Measured) => per(m.afterFirst.rss, m.after.rss, N - FIRST);
  const heapFirst = (m: Measured) => per(m.before.heap.heapSize, m.afterFirst.heap.heapSize, FIRST * 1024);
  const heapRest = (m: Measured) => per(m.afterFirst.heap.heapSize, m.after.heap.heapSize, (N - FIRST) * 1024);
  const { before, afterFirst, after, firstOpen, restOpen } = parley;
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
- beside it, in the same sitting and the same steps: the bare Bun.serve + ioredis baseline (bench/peers/bare-bun.ts, not
  product: no authentication, presence, limits or metrics), each socket in its conversation's room.

| | first ${FIRST} sockets (one-time costs included) | the next ${N - FIRST} (marginal) |
|---|---:|---:|
| opened in | ${firstOpen.toFixed(2)} s | ${restOpen.toFixed(2)} s |
| **RSS per socket** | **${rssFirst(parley)} KiB** | **${rssRest(parley)} KiB** |
| JavaScript heap per socket | ${heapFirst(parley)} KiB | ${heapRest(parley)} KiB |
| memory the heap's objects hold outside it, per socket | ${per(before.heap.extraMemorySize, afterFirst.heap.extraMemorySize, FIRST * 1024)} KiB | ${per(afterFirst.heap.extraMemorySize, after.heap.extraMemorySize, (N - FIRST) * 1024)} KiB |
| bare Bun.serve + ioredis (baseline): RSS per socket | ${rssFirst(baseline)} KiB | ${rssRest(baseline)} KiB |
| bare Bun.serve + ioredis (baseline): JavaScript heap per socket | ${heapFirst(baseline)} KiB | ${heapRest(baseline)} KiB |

RSS of the replica: ${mib(before.rss)} MiB before, ${mib(afterFirst.rss)} MiB after the first step, ${mib(after.rss)} MiB at the end
(the baseline: ${mib(baseline.before.rss)}, ${mib(baseline.afterFirst.rss)}, ${mib(baseline.after.rss)} MiB).

Objects that grew in the replica with the marginal sockets (per socket: count ÷ ${N - FIRST}):

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
