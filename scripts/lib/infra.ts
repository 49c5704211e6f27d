/**
 * The embedded infrastructure: finds (or installs) and starts Redis and a MongoDB-compatible
 * server for the local runner and the test harness. Order of preference for the database:
 * MONGO_URL if given, else `mongod` on PATH, else FerretDB built from the Go module proxy into
 * .tools/bin.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Socket } from "node:net";
import { waitFor } from "./ports.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const TOOLS_BIN = join(ROOT, ".tools/bin");
export const FERRETDB_VERSION = "v1.24.2";

export type Child = { name: string; proc: Bun.Subprocess };

function which(cmd: string): string | null {
  return Bun.which(cmd, { PATH: `${TOOLS_BIN}:${process.env.PATH ?? ""}:/usr/local/go/bin` });
}

function run(cmd: string[], env: Record<string, string> = {}): boolean {
  const r = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit", env: { ...process.env, ...env } });
  return r.exitCode === 0;
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Installs a Debian package when we may; otherwise says exactly what to run. */
function aptInstall(pkg: string, binary: string): string {
  if (isRoot() && which("apt-get")) {
    console.error(`[infra] ${binary} not found; installing the Debian package ${pkg}…`);
    run(["apt-get", "update", "-qq"]);
    if (run(["apt-get", "install", "-y", "-qq", pkg], { DEBIAN_FRONTEND: "noninteractive" })) {
      const found = which(binary);
      if (found) return found;
    }
  }
  throw new Error(`${binary} is not installed. Install it with: sudo apt-get install -y ${pkg}`);
}

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

function tcpOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
    s.connect(port, host);
  });
}

/** Sends a raw PING and waits for +PONG, so "up" means "answers", not just "listens". */
async function redisPing(port: number): Promise<boolean> {
  const res = Bun.spawnSync(["redis-cli", "-p", String(port), "ping"]);
  if (res.exitCode === 0) return res.stdout.toString().trim() === "PONG";
  return tcpOpen(port);
}

type StartOpts = { port: number; dataDir: string; quiet?: boolean; logFile?: string };

function spawnLogged(name: string, cmd: string[], opts: StartOpts): Child {
  const out = opts.logFile ? Bun.file(opts.logFile) : opts.quiet ? "ignore" : "inherit";
  const proc = Bun.spawn(cmd, { stdout: out, stderr: out, stdin: "ignore" });
  return { name, proc };
}

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

export async function startMongoCompatible(opts: StartOpts): Promise<Child & { kind: string }> {
  const server = ensureMongoServer();
  mkdirSync(opts.dataDir, { recursive: true });
  const cmd =
    server.kind === "mongod"
      ? [server.bin, "--port", String(opts.port), "--bind_ip", "127.0.0.1", "--dbpath", opts.dataDir, "--quiet"]
      : [
          server.bin,
          "--handler=sqlite",
          `--sqlite-url=file:${opts.dataDir}/`,
          `--state-dir=${opts.dataDir}`,
          `--listen-addr=127.0.0.1:${opts.port}`,
          "--telemetry=disable",
          "--log-level=warn",
          // FerretDB serves debug/metrics on 127.0.0.1:8088 by default; a second instance would fail.
          "--debug-addr=127.0.0.1:0",
        ];
  const child = spawnLogged(server.kind, cmd, opts);
  await waitOrStop(child, `${server.kind} on port ${opts.port}`, () => tcpOpen(opts.port), 30_000);
  return { ...child, kind: server.kind };
}

/**
 * Stops children one at a time, last started first (realtime, then the api, then the database
 * and Redis), so each can finish its in-flight work against dependencies that are still up.
 * Each gets SIGTERM, then SIGKILL if it is still alive after `graceMs`.
 */
export async function stopAll(children: Child[], graceMs = 10_000): Promise<void> {
  for (const c of [...children].reverse()) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
    c.proc.kill("SIGTERM");
    const exited = await Promise.race([c.proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
}
