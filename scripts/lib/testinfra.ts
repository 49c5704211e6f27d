/**
 * Throwaway Redis + MongoDB-compatible server on free ports with data in a temp folder, for
 * tests and benchmarks. Never touches the data of a running `npm start`. The database is
 * MONGO_URL when set, else the embedded default (FerretDB on PostgreSQL; EMBEDDED_DB=sqlite
 * for FerretDB on SQLite).
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  EMBEDDED_DB_ENGINES,
  startMongoCompatible,
  startRedis,
  stopAll,
  type Child,
  type EmbeddedDbEngine,
} from "./infra.ts";
import { freePort } from "./ports.ts";

export type TestInfra = {
  mongoUrl: string;
  redisUrl: string;
  redisPort: number;
  mongoKind: string;
  /** the PostgreSQL cluster behind FerretDB, when there is one */
  postgresUrl?: string;
  dir: string;
  children: Child[];
  stop(): Promise<void>;
};

export function embeddedEngine(value = process.env.EMBEDDED_DB): EmbeddedDbEngine {
  if (!value) return "postgresql";
  if ((EMBEDDED_DB_ENGINES as readonly string[]).includes(value)) return value as EmbeddedDbEngine;
  throw new Error(`EMBEDDED_DB must be one of ${EMBEDDED_DB_ENGINES.join(", ")} (got "${value}")`);
}

export async function startTestInfra({
  engine = embeddedEngine(),
  slowStatementMs,
  diagnosticAsyncCommit,
}: {
  engine?: EmbeddedDbEngine;
  /** PostgreSQL logs statements slower than this in `<dir>/postgres.log` */
  slowStatementMs?: number;
  /** benchmarks only: PostgreSQL's commits do not wait for the disk (see startPostgres) */
  diagnosticAsyncCommit?: boolean;
} = {}): Promise<TestInfra> {
  const dir = mkdtempSync(join(tmpdir(), "parley-test-"));
  // searchable (not listable) by others: PostgreSQL runs as its own account under root
  chmodSync(dir, 0o711);
  const [redisPort, mongoPort] = [await freePort(), await freePort()];
  const children: Child[] = [];
  let mongoUrl = process.env.MONGO_URL ?? "";
  let mongoKind = "external";
  let postgresUrl: string | undefined;
  try {
    children.push(
      await startRedis({
        port: redisPort,
        dataDir: join(dir, "redis"),
        persist: false,
        logFile: join(dir, "redis.log"),
      }),
    );
    if (!mongoUrl) {
      const db = await startMongoCompatible({
        port: mongoPort,
        dataRoot: dir,
        engine,
        logDir: dir,
        slowStatementMs,
        diagnosticAsyncCommit,
      });
      children.push(...db.children);
      mongoKind = db.kind;
      mongoUrl = db.url;
      postgresUrl = db.postgresUrl;
    }
  } catch (err) {
    await stopAll(children);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    mongoUrl,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    redisPort,
    mongoKind,
    postgresUrl,
    dir,
    children,
    async stop() {
      await stopAll(children);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
