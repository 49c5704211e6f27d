/**
 * The embedded infrastructure: finds (or installs) and starts Redis and a MongoDB-compatible
 * server for the local runner and the test harness. Order of preference for the database:
 * MONGO_URL if given, else `mongod` on PATH, else FerretDB built from the Go module proxy into
 * .tools/bin.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./ports.ts";
import { startPostgres } from "./postgres.ts";
import { aptInstall, spawnLogged, stopAll, tcpOpen, TOOLS_BIN, which, type Child } from "./system.ts";

export { ROOT, stopAll, type Child } from "./system.ts";

export const FERRETDB_VERSION = "v1.24.2";

export function ensureRedisServer(): string {
  return which("redis-server") ?? aptInstall("redis-server", "redis-server");
}

/** mongod if present, else FerretDB (built once into .tools/bin with `go install`). */
export function ensureMongoServer(): { kind: "mongod" | "ferretdb"; bin: string } {
  const mongod = which("mongod");
  if (mongod) return { kind: "mongod", bin: mongod };
  const ferret = which("ferretdb");
  if (ferret) return { kind: "ferretdb", bin: ferret };
  const go = which("go");
  if (!go) {
    throw new Error(
      "No MongoDB-compatible server: set MONGO_URL, put mongod on PATH, or install Go (https://go.dev/dl) so FerretDB can be built.",
    );
  }
  buildFerretDB(go);
  return { kind: "ferretdb", bin: join(TOOLS_BIN, "ferretdb") };
}

/**
 * Builds FerretDB from its module source. A plain `go install …/cmd/ferretdb@v1.24.2` builds a
 * binary that panics at start ("Invalid build/version/version.txt"), because the module zip
 * lacks the generated version file; so: download the module, add the file, build.
 */
function buildFerretDB(go: string): void {
  console.error(`[infra] building FerretDB ${FERRETDB_VERSION} into .tools/bin (1–2 minutes, once)…`);
  const dl = Bun.spawnSync([go, "mod", "download", "-json", `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`], {
    env: { ...process.env, GOFLAGS: "-mod=mod" },
    cwd: tmpdir(),
  });
  if (dl.exitCode !== 0) throw new Error(`go mod download of FerretDB failed: ${dl.stderr.toString()}`);
  const { Dir } = JSON.parse(dl.stdout.toString()) as { Dir: string };
  const src = mkdtempSync(join(tmpdir(), "ferretdb-src-"));
  try {
    cpSync(Dir, src, { recursive: true });
    Bun.spawnSync(["chmod", "-R", "u+w", src]);
    writeFileSync(join(src, "build/version/version.txt"), `${FERRETDB_VERSION}\n`);
    mkdirSync(TOOLS_BIN, { recursive: true });
    const ok = Bun.spawnSync([go, "build", "-trimpath", "-o", join(TOOLS_BIN, "ferretdb"), "./cmd/ferretdb"], {
      cwd: src,
      env: { ...process.env, CGO_ENABLED: "0" },
      stdout: "inherit",
      stderr: "inherit",
    });
    if (ok.exitCode !== 0) throw new Error("building FerretDB failed (see the output above)");
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}

/** Sends a raw PING and waits for +PONG, so "up" means "answers", not just "listens". */
async function redisPing(port: number): Promise<boolean> {
  const res = Bun.spawnSync(["redis-cli", "-p", String(port), "ping"]);
  if (res.exitCode === 0) return res.stdout.toString().trim() === "PONG";
  return tcpOpen(port);
}

type StartOpts = { port: number; dataDir: string; quiet?: boolean; logFile?: string };

/** Waits for a just-started child to answer; if it never does, stops it before failing. */
async function waitOrStop(child: Child, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  try {
    await waitFor(what, check, timeoutMs);
  } catch (err) {
    await stopAll([child], 2000);
    throw err;
  }
}

export async function startRedis(opts: StartOpts & { persist: boolean }): Promise<Child> {
  const bin = ensureRedisServer();
  mkdirSync(opts.dataDir, { recursive: true });
  const persistence = opts.persist ? ["--appendonly", "yes", "--save", "60 1"] : ["--save", "", "--appendonly", "no"];
  const child = spawnLogged(
    "redis",
    [
      bin,
      "--port",
      String(opts.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      opts.dataDir,
      "--protected-mode",
      "yes",
      ...persistence,
    ],
    opts,
  );
  await waitOrStop(child, `redis on port ${opts.port}`, () => redisPing(opts.port), 15_000);
  return child;
}

/** The embedded database engines FerretDB can store data in; PostgreSQL is the default (see bench/results/db-engines.md). */
export const EMBEDDED_DB_ENGINES = ["postgresql", "sqlite"] as const;
export type EmbeddedDbEngine = (typeof EMBEDDED_DB_ENGINES)[number];

export type MongoCompatible = {
  kind: string;
  url: string;
  /** the PostgreSQL cluster behind FerretDB, when there is one (benchmarks maintain it after bulk loads) */
  postgresUrl?: string;
  children: Child[];
  /**
   * Stops the server the api talks to (mongod or FerretDB; PostgreSQL behind FerretDB stays up)
   * and starts it again on the same port with the same data: the fault test's database outage.
   * `children` always holds the current process.
   */
  outage: { stop(): Promise<void>; start(): Promise<void> };
};

/** Stops and restarts one child with the command and options it was started with. */
function restartable(
  children: Child[],
  index: number,
  respawn: () => Child,
  ready: () => Promise<boolean>,
): MongoCompatible["outage"] {
  return {
    async stop() {
      await stopAll([children[index]!], 10_000);
    },
    async start() {
      const child = respawn();
      children[index] = child;
      await waitFor(`${child.name} back on its port`, ready, 30_000);
    },
  };
}

/**
 * Starts the MongoDB-compatible server on `port`, its data under `dataRoot`: mongod (in
 * `mongo/`) if it is on PATH, else FerretDB on the chosen engine: PostgreSQL (a cluster of our
 * own in `postgres/`, FerretDB's state in `ferretdb/`) or SQLite (in `mongo/`, the layout of
 * earlier versions). Returns the processes in start order, the database server first.
 */
export async function startMongoCompatible(opts: {
  port: number;
  dataRoot: string;
  engine?: EmbeddedDbEngine;
  logDir?: string;
  /** PostgreSQL logs statements slower than this (see startPostgres) */
  slowStatementMs?: number;
  /** benchmarks only (see startPostgres) */
  diagnosticAsyncCommit?: boolean;
}): Promise<MongoCompatible> {
  const server = ensureMongoServer();
  const engine = opts.engine ?? "postgresql";
  const log = (name: string) => (opts.logDir ? { logFile: join(opts.logDir, `${name}.log`) } : { quiet: true });
  const url = `mongodb://127.0.0.1:${opts.port}/`;
  if (server.kind === "mongod") {
    const dir = join(opts.dataRoot, "mongo");
    mkdirSync(dir, { recursive: true });
    const cmd = [server.bin, "--port", String(opts.port), "--bind_ip", "127.0.0.1", "--dbpath", dir, "--quiet"];
    const spawn = () => spawnLogged("mongod", cmd, log("mongod"));
    const child = spawn();
    await waitOrStop(child, `mongod on port ${opts.port}`, () => tcpOpen(opts.port), 30_000);
    const children = [child];
    return { kind: "mongod", url, children, outage: restartable(children, 0, spawn, () => tcpOpen(opts.port)) };
  }
  const children: Child[] = [];
  const common = [
    `--listen-addr=127.0.0.1:${opts.port}`,
    "--telemetry=disable",
    "--log-level=warn",
    // FerretDB serves debug/metrics on 127.0.0.1:8088 by default; a second instance would fail.
    "--debug-addr=127.0.0.1:0",
  ];
  let cmd: string[];
  let env: Record<string, string> = {};
  let postgresUrl: string | undefined;
  if (engine === "postgresql") {
    const pg = await startPostgres({
      port: await freePort(),
      dir: join(opts.dataRoot, "postgres"),
      slowStatementMs: opts.slowStatementMs,
      diagnosticAsyncCommit: opts.diagnosticAsyncCommit,
      ...log("postgres"),
    });
    children.push(pg);
    postgresUrl = pg.url;
    const state = join(opts.dataRoot, "ferretdb");
    mkdirSync(state, { recursive: true });
    cmd = [server.bin, "--handler=postgresql", `--state-dir=${state}`, ...common];
    // the URL carries the password: through the environment, never on a command line
    env = { FERRETDB_POSTGRESQL_URL: pg.ferretdbUrl };
  } else {
    const dir = join(opts.dataRoot, "mongo");
    mkdirSync(dir, { recursive: true });
    cmd = [server.bin, "--handler=sqlite", `--sqlite-url=file:${dir}/`, `--state-dir=${dir}`, ...common];
  }
  const spawn = () => spawnLogged("ferretdb", cmd, { ...log("ferretdb"), env });
  children.push(spawn());
  try {
    await waitFor(`ferretdb on port ${opts.port}`, () => tcpOpen(opts.port), 30_000);
  } catch (err) {
    await stopAll(children, 5000);
    throw err;
  }
  const outage = restartable(children, children.length - 1, spawn, () => tcpOpen(opts.port));
  return { kind: `ferretdb-${engine}`, url, postgresUrl, children, outage };
}
