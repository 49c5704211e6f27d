/**
 * The four servers of bench/fanout-knee.ts, each started on the shared Redis with its sockets
 * laid out the same way: 100 rooms of 10, member j of a room on process ⌊j·P/10⌋. Servers come
 * from bench/peers/servers.ts (the same starts as bench/peers/compare.ts).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMongoCompatible, stopAll } from "../../scripts/lib/infra.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { embeddedEngine } from "../../scripts/lib/testinfra.ts";
import { seedConversations, seedUsers, tokenSigner } from "../lib/seed.ts";
import { userIdOf } from "../peers/load.ts";
import { PEER_DIR, startBaseline, startParley, startSocketIoPeer, type RunningServers } from "../peers/servers.ts";
import { ROOM_SIZE, ROOMS, type Room, type ServerKind, type SocketSpec } from "./protocol.ts";

export type KneeTarget = {
  kind: ServerKind;
  label: string;
  /** the server processes (counted); not the api or database behind Parley */
  pids: number[];
  rooms: Room[];
  sockets: SocketSpec[];
  /** what else ran for this server and is not counted */
  notes: string;
  stop(): Promise<void>;
};

const version = (pkg: string) => {
  try {
    return (
      JSON.parse(readFileSync(join(PEER_DIR, "node_modules", pkg, "package.json"), "utf8")) as { version: string }
    ).version;
  } catch {
    return "?";
  }
};

let nodeVersion: string | undefined;

/** How each server is named in the results. */
export function labelOf(kind: ServerKind): string {
  switch (kind) {
    case "socketio":
      nodeVersion ??= Bun.spawnSync(["node", "--version"]).stdout.toString().trim().replace(/^v/, "");
      return `Socket.IO ${version("socket.io")} + redis-adapter ${version("@socket.io/redis-adapter")} (Node ${nodeVersion})`;
    case "elysia-ws":
      return "Elysia `.ws` + ioredis (baseline, not product)";
    case "bare-bun":
      return "Bun.serve + ioredis (baseline, the limit of this design here)";
    case "parley":
      return "Parley realtime (events routed as the api does, one message per replica)";
  }
}

/** Rooms of synthetic ids (24 hex digits) for the servers that keep no users. */
function syntheticRooms(tag: string): Room[] {
  return Array.from({ length: ROOMS }, (_, r) => ({
    conversationId: userIdOf(`${tag}f`, r),
    members: Array.from({ length: ROOM_SIZE }, (_, j) => userIdOf(tag, r * ROOM_SIZE + j)),
  }));
}

function layOut(rooms: Room[], urls: string[], token?: (userId: string) => string): SocketSpec[] {
  return rooms.flatMap((room, r) =>
    room.members.map((userId, j) => ({
      url: urls[Math.floor((j * urls.length) / ROOM_SIZE)]!,
      userId,
      room: r,
      conversationId: room.conversationId,
      token: token?.(userId),
    })),
  );
}

type StartOpts = { redisUrl: string; processes: number; logs: string };

/** Data folders of databases started here and not yet removed (an interrupted bench removes them). */
export const dataFolders = new Set<string>();

export async function startTarget(kind: ServerKind, opts: StartOpts): Promise<KneeTarget> {
  if (kind === "parley") return startParleyTarget(opts);
  let servers: RunningServers;
  if (kind === "socketio") servers = await startSocketIoPeer(opts);
  else servers = await startBaseline(kind, opts);
  const rooms = syntheticRooms(kind === "socketio" ? "c1" : kind === "elysia-ws" ? "c2" : "c3");
  return {
    kind,
    label: labelOf(kind),
    pids: servers.pids,
    rooms,
    sockets: layOut(rooms, servers.urls),
    notes:
      kind === "socketio"
        ? "sockets join room `conversation:<id>` from the handshake (user id trusted, no JWT)"
        : "user id and room in the query string (no authentication)",
    stop: servers.stop,
  };
}

/**
 * Parley: its own database (embedded, started here and stopped after) with 1,000 users in 100
 * group conversations of 10 (realtime asks the api for each user's conversations at socket
 * open and follows the presence of their contacts), the api and the replicas, session JWTs.
 */
async function startParleyTarget(opts: StartOpts): Promise<KneeTarget> {
  const dataRoot = mkdtempSync(join(tmpdir(), "parley-knee-db-"));
  chmodSync(dataRoot, 0o711); // searchable by PostgreSQL's own account under root
  dataFolders.add(dataRoot);
  const db = await startMongoCompatible({
    port: await freePort(),
    dataRoot,
    engine: embeddedEngine(),
    logDir: opts.logs,
  });
  const stopDb = async () => {
    await stopAll(db.children);
    rmSync(dataRoot, { recursive: true, force: true });
    dataFolders.delete(dataRoot);
  };
  try {
    const jwtSecret = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    const parley = await startParley({
      infra: { mongoUrl: db.url, redisUrl: opts.redisUrl },
      processes: opts.processes,
      logs: opts.logs,
      jwtSecret,
      dbName: "bench_knee",
      seed: async (d) => {
        const users = await seedUsers(d, ROOMS * ROOM_SIZE);
        const convs = await seedConversations(
          d,
          users,
          Array.from({ length: ROOMS }, (_, r) => Array.from({ length: ROOM_SIZE }, (_, j) => r * ROOM_SIZE + j)),
        );
        return { users, convs };
      },
    });
    const sign = await tokenSigner(jwtSecret);
    const tokens = new Map<string, string>();
    for (const u of parley.seeded.users) tokens.set(u.id, await sign(u));
    const rooms: Room[] = parley.seeded.convs.map((c) => ({ conversationId: c.id, members: c.memberIds }));
    return {
      kind: "parley",
      label: labelOf("parley"),
      pids: parley.pids,
      rooms,
      sockets: layOut(rooms, parley.urls, (id) => tokens.get(id)!),
      notes: `session JWTs; its api and database (${db.kind}) run beside it, not counted`,
      stop: async () => {
        await parley.stop();
        await stopDb();
      },
    };
  } catch (err) {
    await stopDb();
    throw err;
  }
}
