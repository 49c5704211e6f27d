/**
 * The fault test's own world: a Redis, a MongoDB-compatible server (FerretDB on PostgreSQL, or
 * mongod) and Parley (the api and two realtime replicas, started as in production), all on free
 * ports with data in a temporary folder, plus the faults it can inject into them.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import {
  startMongoCompatible,
  startRedis,
  stopAll,
  type Child,
  type MongoCompatible,
} from "../../scripts/lib/infra.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { startStack, type Stack } from "../../scripts/lib/stack.ts";

export type World = {
  stack: Stack;
  mongoUrl: string;
  redisUrl: string;
  logDir: string;
  /** SIGKILL a realtime replica (a crash) */
  killReplica(i: number): Promise<void>;
  startReplica(i: number): Promise<void>;
  /** CLIENT KILL of the api's Redis connections: they reconnect by themselves */
  killApiRedisConnections(): Promise<number>;
  /** Redis stops (SIGTERM) and starts again empty on the same port */
  restartRedis(): Promise<void>;
  /** the database server the api talks to stops, then starts again with its data */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  /** stops everything; the logs stay in `logDir` when asked (a failed run) */
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
};

export async function startWorld(opts: { logs?: "inherit" } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "parley-fault-"));
  // searchable (not listable) by others: PostgreSQL runs as its own account under root
  chmodSync(dir, 0o711);
  const logDir = join(dir, "logs");
  mkdirSync(logDir);
  const redisPort = await freePort();
  const redisDir = join(dir, "redis");
  const startOwnRedis = () =>
    startRedis({
      port: redisPort,
      dataDir: redisDir,
      persist: false,
      logFile: join(logDir, `redis-${Date.now()}.log`),
    });
  let redis: Child = await startOwnRedis();
  let db: MongoCompatible | undefined;
  let stack: Stack | undefined;
  try {
    db = await startMongoCompatible({ port: await freePort(), dataRoot: dir, logDir });
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const mongoUrl = `${db.url}parley_fault`;
    stack = await startStack({
      mongoUrl,
      redisUrl,
      jwtSecret: `fault-${crypto.randomUUID()}-${crypto.randomUUID()}`,
      logs: opts.logs ?? logDir,
      replicas: 2,
      apiEnv: {
        SEND_RATE_MAX: "1000000",
        REGISTER_RATE_MAX: "1000000",
        CONVERSATION_CREATE_MAX: "1000000",
        LOG_LEVEL: "warn",
      },
      realtimeEnv: { STATIC_DIR: join(dir, "no-frontend"), LOG_LEVEL: "warn" },
    });
    const s = stack;
    const database = db;
    return {
      stack: s,
      mongoUrl,
      redisUrl,
      logDir,
      killReplica: (i) => s.stopReplica(i, "SIGKILL"),
      startReplica: (i) => s.startReplica(i),
      async killApiRedisConnections() {
        const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await admin.connect();
          const list = String(await admin.client("LIST"));
          const ids = list
            .split("\n")
            .filter((l) => / name=api(-subscriber)? /.test(l))
            .map((l) => l.match(/\bid=(\d+)/)?.[1])
            .filter((x): x is string => !!x);
          for (const id of ids) await admin.client("KILL", "ID", id);
          return ids.length;
        } finally {
          admin.disconnect();
        }
      },
      async restartRedis() {
        await stopAll([redis], 5000);
        redis = await startOwnRedis();
      },
      stopDatabase: () => database.outage.stop(),
      startDatabase: () => database.outage.start(),
      async stop({ keepLogs = false } = {}) {
        await s.stop();
        await stopAll([...database.children, redis]);
        if (keepLogs) {
          for (const d of ["redis", "postgres", "ferretdb", "mongo"])
            rmSync(join(dir, d), { recursive: true, force: true });
        } else rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stack?.stop();
    await stopAll([...(db?.children ?? []), redis]);
    throw err;
  }
}
