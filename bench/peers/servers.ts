/**
 * The realtime servers the peer benchmarks start, written once for bench/peers/compare.ts and
 * bench/fanout-knee.ts: Parley realtime (its replicas, the api they ask once per socket, users
 * seeded in the database), the Socket.IO peer (Node processes on bench/peers/socketio), and the
 * two baselines of this directory (bare-bun.ts, elysia-ws.ts). Each start returns the server
 * processes whose CPU and memory are counted, the URLs to connect to, and a stop.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type mongoose from "mongoose";
import type { Message } from "@parley/contract";
import type { MessageFrame, ServerFrame } from "@parley/contract/frames";
import { ROOT, stopAll, type Child } from "../../scripts/lib/infra.ts";
import { freePort, httpOk, waitFor } from "../../scripts/lib/ports.ts";
import { startStack, type Stack } from "../../scripts/lib/stack.ts";
import { spawnLogged } from "../../scripts/lib/system.ts";
import { withDb } from "../lib/seed.ts";

export const PEER_DIR = join(ROOT, "bench/peers/socketio");

/** What bench/peers/socketio/driver.mjs exports (plain JS: it runs on the peer's own deps). */
export type SocketIoDriver = {
  openSocket(
    url: string,
    userId: string,
    onMessage: (frame: ServerFrame) => void,
    timeoutMs?: number,
    conversationIds?: string[],
  ): Promise<{ close(): void }>;
  createPublisher(
    redisUrl: string,
    options?: { autoPipelining?: boolean },
  ): Promise<{
    emit(userId: string, frame: ServerFrame): void;
    emitToConversation(conversationId: string, frame: ServerFrame): void;
    close(): Promise<unknown>;
  }>;
};

/** The peer's own packages, installed on first use (they are not part of the product). */
export function ensurePeerInstalled(): void {
  if (existsSync(join(PEER_DIR, "node_modules/socket.io/package.json"))) return;
  console.error("[bench] installing the Socket.IO peer's packages into bench/peers/socketio/node_modules…");
  const cmd = existsSync(join(PEER_DIR, "package-lock.json")) ? "ci" : "install";
  const r = Bun.spawnSync(["npm", cmd, "--prefix", PEER_DIR, "--no-audit", "--no-fund"], {
    stdout: "inherit",
    stderr: "inherit",
  });
  if (r.exitCode !== 0) throw new Error(`npm ${cmd} --prefix bench/peers/socketio failed`);
}

export async function loadSocketIoDriver(): Promise<SocketIoDriver> {
  ensurePeerInstalled();
  return (await import(join(PEER_DIR, "driver.mjs"))) as SocketIoDriver;
}

/** The frame every service delivers: a Parley `message` frame; its body carries a time. */
export function messageFrame(m: {
  seq: number;
  body: string;
  senderId: string;
  conversationId?: string;
}): MessageFrame {
  const message: Message = {
    id: m.seq.toString(16).padStart(24, "0"),
    conversationId: m.conversationId ?? "0".repeat(24),
    seq: m.seq,
    senderId: m.senderId,
    body: m.body,
    clientId: `bench${m.seq}`,
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

/** Server processes under test: their pids (what is counted), where to connect, how to stop. */
export type RunningServers = { pids: number[]; urls: string[]; stop(): Promise<void> };

/**
 * Parley realtime: `processes` replicas and the api they ask once per socket open, on a
 * database of its own (`dbName`) that `seed` fills first: realtime closes the sockets of users
 * the api does not know. Returns the replicas' ws:// base URLs.
 */
export async function startParley<T>(opts: {
  infra: { mongoUrl: string; redisUrl: string };
  processes: number;
  logs: string;
  jwtSecret: string;
  dbName: string;
  seed: (db: mongoose.mongo.Db) => Promise<T>;
}): Promise<RunningServers & { stack: Stack; seeded: T }> {
  const dbUrl = `${opts.infra.mongoUrl.replace(/\/?$/, "/")}${opts.dbName}`;
  const seeded = await withDb(dbUrl, opts.seed);
  const stack = await startStack({
    mongoUrl: dbUrl,
    redisUrl: opts.infra.redisUrl,
    jwtSecret: opts.jwtSecret,
    replicas: opts.processes,
    logs: opts.logs,
    apiEnv: { LOG_LEVEL: "warn" },
    realtimeEnv: { LOG_LEVEL: "warn", STATIC_DIR: join(opts.logs, "none") },
  });
  return {
    stack,
    seeded,
    pids: stack.children.filter((c) => c.name.startsWith("realtime")).map((c) => c.proc.pid),
    urls: stack.realtimeUrls.map((u) => u.replace(/^http/, "ws")),
    stop: () => stack.stop(),
  };
}

/** Starts `processes` copies of one server command with PORT and REDIS_URL; waits for /readyz. */
async function startProcesses(
  name: string,
  cmd: string[],
  opts: { redisUrl: string; processes: number; logs: string; env?: Record<string, string> },
): Promise<RunningServers> {
  const children: Child[] = [];
  const ports: number[] = [];
  for (let i = 0; i < opts.processes; i++) ports.push(await freePort());
  try {
    for (const [i, port] of ports.entries())
      children.push(
        spawnLogged(`${name}-${i + 1}`, cmd, {
          env: { ...opts.env, PORT: String(port), REDIS_URL: opts.redisUrl },
          logFile: join(opts.logs, `${name}-${i + 1}.log`),
        }),
      );
    for (const port of ports)
      await waitFor(`${name} on ${port}`, () => httpOk(`http://127.0.0.1:${port}/readyz`), 15_000);
  } catch (err) {
    await stopAll(children, 5000);
    throw err;
  }
  return {
    pids: children.map((c) => c.proc.pid),
    urls: ports.map((p) => `http://127.0.0.1:${p}`),
    stop: () => stopAll(children, 5000),
  };
}

/** Socket.IO 4 + redis-adapter: `processes` Node processes on one Redis. URLs are http://. */
export function startSocketIoPeer(opts: { redisUrl: string; processes: number; logs: string }) {
  ensurePeerInstalled();
  return startProcesses("socketio", ["node", join(PEER_DIR, "server.mjs")], opts);
}

export type Baseline = "bare-bun" | "elysia-ws";

/**
 * A baseline of this directory (not product): `processes` Bun processes. URLs are ws://.
 * `bunArgs` and `env` go to each process (bench/socket-memory.ts preloads its heap hook).
 */
export async function startBaseline(
  kind: Baseline,
  opts: { redisUrl: string; processes: number; logs: string; bunArgs?: string[]; env?: Record<string, string> },
) {
  const cmd = [process.execPath, ...(opts.bunArgs ?? []), join(ROOT, `bench/peers/${kind}.ts`)];
  const running = await startProcesses(kind, cmd, opts);
  return { ...running, urls: running.urls.map((u) => u.replace(/^http/, "ws")) };
}
