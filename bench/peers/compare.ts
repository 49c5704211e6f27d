/**
 * Parley realtime side by side with the peer a team would pick instead: Socket.IO 4 with
 * @socket.io/redis-adapter (on Node, its native runtime). Same Redis, same load shape, loopback
 * only, bounded in count and time (see load.ts):
 *   - idle memory: RSS of the server processes (2 of each by default) before/after N idle sockets → KiB per socket;
 *   - delivery: events published at a fixed rate, each to one user's channel/room, one socket
 *     per user; client-observed latency (publish time in the payload → receipt) and the server
 *     processes' CPU time (and Redis's) per 1000 events.
 *
 *   node_modules/.bin/bun bench/peers/compare.ts [--processes 2] [--sockets 1000] [--rate 200] [--seconds 15]
 *     [--warmup 2] [--idle 10] [--settle 10] [--quiet-load 1.5] [--quiet-wait 60] [--peer-first] [--out bench/results/peer-realtime.md]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import { Types } from "mongoose";
import { encodeFanoutEvent, type ServerFrame } from "@parley/contract/frames";
import { EventRouter } from "@parley/kit/route";
import { ROOT } from "../../scripts/lib/infra.ts";
import { startTestInfra } from "../../scripts/lib/testinfra.ts";
import { tokenSigner } from "../lib/seed.ts";
import { runShape, userIdOf, waitForQuietMachine, type Result, type Shape, type Target } from "./load.ts";
import { renderReport } from "./report.ts";
import { loadSocketIoDriver, messageFrame, startParley, startSocketIoPeer } from "./servers.ts";

const { values } = parseArgs({
  options: {
    processes: { type: "string", default: "2" },
    sockets: { type: "string", default: "1000" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "15" },
    warmup: { type: "string", default: "2" },
    idle: { type: "string", default: "10" },
    settle: { type: "string", default: "10" },
    "quiet-load": { type: "string", default: "1.5" },
    "quiet-wait": { type: "string", default: "60" },
    "peer-first": { type: "boolean", default: false },
    out: { type: "string", default: join(ROOT, "bench/results/peer-realtime.md") },
  },
});
// Bounds: whatever is asked, the run stays small enough for a shared 2-core machine.
const shape: Shape = {
  processes: Math.min(Math.max(1, Number(values.processes)), 8),
  sockets: Math.min(Math.max(2, Number(values.sockets)), 5000),
  rate: Math.min(Math.max(1, Number(values.rate)), 2000),
  seconds: Math.min(Math.max(1, Number(values.seconds)), 60),
  warmupSeconds: Math.min(Math.max(0, Number(values.warmup)), 10),
  idleSeconds: Math.min(Math.max(1, Number(values.idle)), 30),
  settleSeconds: Math.min(Math.max(0, Number(values.settle)), 30),
};
const quiet = { load: Number(values["quiet-load"]), wait: Math.min(Number(values["quiet-wait"]), 600) };
const JWT_SECRET = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;

async function subscriptionsOf(redis: Redis) {
  const channels = ((await redis.pubsub("CHANNELS")) as string[]).length;
  const patterns = Number(await redis.pubsub("NUMPAT"));
  return { channels, patterns };
}

const infra = await startTestInfra();
const redisPid = infra.children.find((c) => c.name === "redis")?.proc.pid;
const logs = mkdtempSync(join(tmpdir(), "parley-bench-peers-"));
const quietness: Record<string, { load: number; waited: number }> = {};
/** the run tag of Parley's users (load.ts userIdOf) */
const PARLEY_RUN = "a1";
console.error(`[bench] ${shape.sockets} sockets, ${shape.rate} events/s for ${shape.seconds} s; logs in ${logs}`);

/** (a) Parley realtime: P replicas (+ the api they ask once per socket open). */
async function measureParley(): Promise<Result> {
  quietness.parley = await waitForQuietMachine(quiet.load, quiet.wait);
  const users = Array.from({ length: shape.sockets }, (_, i) => userIdOf(PARLEY_RUN, i));
  const parleyServers = await startParley({
    infra,
    processes: shape.processes,
    logs,
    jwtSecret: JWT_SECRET,
    dbName: "bench_peers",
    // realtime closes the sockets of users the api does not know (4001): the bench's users exist
    seed: (db) =>
      db.collection("users").insertMany(
        users.map((id) => ({
          _id: new Types.ObjectId(id),
          username: `b${id.slice(-8)}`,
          usernameLower: `b${id.slice(-8)}`,
          passwordHash: "seeded: no password",
          createdAt: new Date(),
        })),
      ),
  });
  const publisher = new Redis(infra.redisUrl);
  const router = new EventRouter(publisher);
  const inspector = new Redis(infra.redisUrl);
  try {
    const sign = await tokenSigner(JWT_SECRET);
    const wsUrls = parleyServers.urls;
    const parley: Target = {
      name: "Parley realtime (Bun)",
      serverPids: parleyServers.pids,
      redisPid,
      async open(i, userId, onMessage) {
        const token = await sign({ id: userId, username: `b${userId.slice(-8)}` });
        return new Promise((resolve, reject) => {
          const ws = new WebSocket(`${wsUrls[i % wsUrls.length]}/ws?token=${token}`);
          const timer = setTimeout(() => reject(new Error(`Parley socket ${i} not ready after 10 s`)), 10_000);
          ws.onmessage = (e) => {
            const f = JSON.parse(String(e.data)) as ServerFrame;
            if (f.type === "message") onMessage(f.message.seq, Number(f.message.body));
            else if (f.type === "ready") {
              clearTimeout(timer);
              resolve(() => ws.close());
            }
          };
          ws.onerror = () => reject(new Error(`Parley socket ${i} failed`));
        });
      },
      // exactly what the api does after a commit: a FanoutEvent routed to the user (kit/route)
      publish: (userId, seq, body) =>
        router.publishOrThrow([
          { userIds: [userId], payload: encodeFanoutEvent(messageFrame({ seq, body, senderId: userId }), Date.now()) },
        ]),
      redisSubscriptions: () => subscriptionsOf(inspector),
    };
    const result = await runShape(parley, shape, PARLEY_RUN);
    // a run that delivered nothing measured nothing (it happened: see the users above)
    if (result.delivered < result.published)
      throw new Error(`Parley delivered ${result.delivered} of ${result.published} events: not a measurement`);
    return result;
  } finally {
    publisher.disconnect();
    inspector.disconnect();
    await parleyServers.stop();
  }
}

/** (b) Socket.IO 4 + redis adapter: P Node processes on the same Redis. */
async function measurePeer(): Promise<Result> {
  const driver = await loadSocketIoDriver();
  quietness.peer = await waitForQuietMachine(quiet.load, quiet.wait);
  const peers = await startSocketIoPeer({ redisUrl: infra.redisUrl, processes: shape.processes, logs });
  const inspector2 = new Redis(infra.redisUrl);
  const emitter = await driver.createPublisher(infra.redisUrl);
  try {
    const peer: Target = {
      name: "Socket.IO 4 + redis-adapter (Node 20)",
      serverPids: peers.pids,
      redisPid,
      async open(i, userId, onMessage) {
        const s = await driver.openSocket(peers.urls[i % peers.urls.length]!, userId, (f) => {
          if (f.type === "message") onMessage(f.message.seq, Number(f.message.body));
        });
        return () => s.close();
      },
      publish: async (userId, seq, body) => emitter.emit(userId, messageFrame({ seq, body, senderId: userId })),
      redisSubscriptions: () => subscriptionsOf(inspector2),
    };
    return await runShape(peer, shape, "b2");
  } finally {
    inspector2.disconnect();
    await emitter.close();
    await peers.stop();
  }
}

try {
  // Either order on request, so a drift in the machine's load can be told from a difference.
  let parleyResult: Result;
  let peerResult: Result;
  if (values["peer-first"]) {
    peerResult = await measurePeer();
    parleyResult = await measureParley();
  } else {
    parleyResult = await measureParley();
    peerResult = await measurePeer();
  }
  const report = renderReport({
    shape,
    results: [parleyResult, peerResult],
    quietness: [quietness.parley!, quietness.peer!],
    order: values["peer-first"] ? "peer first" : "Parley first",
    redisKind: "redis-server 7 (throwaway)",
    mongoKind: infra.mongoKind,
  });
  writeFileSync(values.out!, report);
  console.log(report);
  console.error(`[bench] results written to ${values.out}`);
} finally {
  await infra.stop();
}
