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
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import { Types } from "mongoose";
import type { Message } from "@parley/contract";
import { userChannel, type FanoutEvent, type ServerFrame } from "@parley/contract/frames";
import { ROOT, type Child } from "../../scripts/lib/infra.ts";
import { freePort, httpOk, waitFor } from "../../scripts/lib/ports.ts";
import { startStack } from "../../scripts/lib/stack.ts";
import { startTestInfra } from "../../scripts/lib/testinfra.ts";
import { withDb } from "../lib/seed.ts";
import { runShape, userIdOf, waitForQuietMachine, type Result, type Shape, type Target } from "./load.ts";
import { renderReport } from "./report.ts";

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
const PEER_DIR = join(ROOT, "bench/peers/socketio");
const JWT_SECRET = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;

/** What bench/peers/socketio/driver.mjs exports (plain JS: it runs on the peer's own deps). */
type SocketIoDriver = {
  openSocket(url: string, userId: string, onMessage: (frame: ServerFrame) => void): Promise<{ close(): void }>;
  createPublisher(
    redisUrl: string,
  ): Promise<{ emit(userId: string, frame: ServerFrame): void; close(): Promise<unknown> }>;
};

/** The peer's own packages, installed on first use (they are not part of the product). */
function ensurePeerInstalled(): void {
  if (existsSync(join(PEER_DIR, "node_modules/socket.io/package.json"))) return;
  console.error("[bench] installing the Socket.IO peer's packages into bench/peers/socketio/node_modules…");
  const cmd = existsSync(join(PEER_DIR, "package-lock.json")) ? "ci" : "install";
  const r = Bun.spawnSync(["npm", cmd, "--prefix", PEER_DIR, "--no-audit", "--no-fund"], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0) throw new Error(`npm ${cmd} --prefix bench/peers/socketio failed`);
}

const b64url = (bytes: ArrayBuffer | Uint8Array) =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString("base64url");

/** An HS256 session token as the api issues it (same secret, issuer, audience, claims). */
async function sessionToken(userId: string, key: CryptoKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => b64url(new TextEncoder().encode(JSON.stringify(o)));
  const unsigned = `${enc({ alg: "HS256", typ: "JWT" })}.${enc({ sub: userId, username: `b${userId.slice(-8)}`, iss: "parley", aud: "parley", iat: now, exp: now + 3600, sid: b64url(crypto.getRandomValues(new Uint8Array(16))), sat: Date.now() })}`;
  return `${unsigned}.${b64url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(unsigned)))}`;
}

/** The frame both services deliver: a Parley `message` frame; its body carries the publish time. */
function messageFrame(userId: string, seq: number, body: string): ServerFrame {
  const message: Message = {
    id: seq.toString(16).padStart(24, "0"),
    conversationId: "0".repeat(24),
    seq,
    senderId: userId,
    body,
    clientId: `bench${seq}`,
    createdAt: new Date().toISOString(),
    kind: "text",
    system: null,
    replyTo: null,
    mentions: [],
    editedAt: null,
    deleted: false,
    reactions: [],
    version: 0,
  };
  return { type: "message", message };
}

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
  const dbUrl = `${infra.mongoUrl.replace(/\/?$/, "/")}bench_peers`;
  // realtime closes the sockets of users the api does not know (4001): the bench's users exist
  await withDb(dbUrl, (db) =>
    db.collection("users").insertMany(
      Array.from({ length: shape.sockets }, (_, i) => {
        const id = userIdOf(PARLEY_RUN, i);
        return {
          _id: new Types.ObjectId(id),
          username: `b${id.slice(-8)}`,
          usernameLower: `b${id.slice(-8)}`,
          passwordHash: "seeded: no password",
          createdAt: new Date(),
        };
      }),
    ),
  );
  const stack = await startStack({
    mongoUrl: dbUrl,
    redisUrl: infra.redisUrl,
    jwtSecret: JWT_SECRET,
    replicas: shape.processes,
    logs,
    apiEnv: { LOG_LEVEL: "warn" },
    realtimeEnv: { LOG_LEVEL: "warn", STATIC_DIR: join(logs, "none") },
  });
  const publisher = new Redis(infra.redisUrl);
  const inspector = new Redis(infra.redisUrl);
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(JWT_SECRET),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const wsUrls = stack.realtimeUrls.map((u) => u.replace(/^http/, "ws"));
    const parley: Target = {
      name: "Parley realtime (Bun)",
      serverPids: stack.children.filter((c) => c.name.startsWith("realtime")).map((c) => c.proc.pid),
      redisPid,
      async open(i, userId, onMessage) {
        const token = await sessionToken(userId, key);
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
      // exactly what the api does after a commit: a FanoutEvent on the user's channel
      publish: (userId, seq, body) =>
        publisher.publish(
          userChannel(userId),
          JSON.stringify({ frame: messageFrame(userId, seq, body), committedAt: Date.now() } satisfies FanoutEvent),
        ),
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
    await stack.stop();
  }
}

/** (b) Socket.IO 4 + redis adapter: P Node processes on the same Redis. */
async function measurePeer(): Promise<Result> {
  ensurePeerInstalled();
  const driver = (await import(join(PEER_DIR, "driver.mjs"))) as SocketIoDriver;
  quietness.peer = await waitForQuietMachine(quiet.load, quiet.wait);
  const peers: Child[] = [];
  const ports: number[] = [];
  for (let i = 0; i < shape.processes; i++) ports.push(await freePort());
  for (const [i, port] of ports.entries()) {
    const proc = Bun.spawn(["node", join(PEER_DIR, "server.mjs")], {
      env: { ...process.env, PORT: String(port), REDIS_URL: infra.redisUrl },
      stdout: Bun.file(join(logs, `socketio-${i + 1}.log`)),
      stderr: Bun.file(join(logs, `socketio-${i + 1}.err.log`)),
    });
    peers.push({ name: `socketio-${i + 1}`, proc });
  }
  const inspector2 = new Redis(infra.redisUrl);
  const emitter = await driver.createPublisher(infra.redisUrl);
  try {
    for (const port of ports)
      await waitFor(`socket.io peer on ${port}`, () => httpOk(`http://127.0.0.1:${port}/readyz`), 15_000);
    const peer: Target = {
      name: "Socket.IO 4 + redis-adapter (Node 20)",
      serverPids: peers.map((c) => c.proc.pid),
      redisPid,
      async open(i, userId, onMessage) {
        const s = await driver.openSocket(`http://127.0.0.1:${ports[i % ports.length]}`, userId, (f) => {
          if (f.type === "message") onMessage(f.message.seq, Number(f.message.body));
        });
        return () => s.close();
      },
      publish: async (userId, seq, body) => emitter.emit(userId, messageFrame(userId, seq, body)),
      redisSubscriptions: () => subscriptionsOf(inspector2),
    };
    return await runShape(peer, shape, "b2");
  } finally {
    inspector2.disconnect();
    await emitter.close();
    for (const c of peers) c.proc.kill("SIGTERM");
    await Promise.race([Promise.all(peers.map((c) => c.proc.exited)), Bun.sleep(5000)]);
    for (const c of peers) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
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
