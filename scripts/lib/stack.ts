/**
 * Starts Parley's own processes (one api, N realtime replicas) against a given Redis and
 * MongoDB-compatible server, with the same commands the container images run. Used by the
 * local runner, the integration tests, the end-to-end tests and the benchmarks, so all of them
 * exercise the production start path.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, stopAll, type Child } from "./infra.ts";
import { spawnLogged } from "./system.ts";
import { freePort, httpOk } from "./ports.ts";

export const BUN = process.execPath;

/**
 * PROFILE_DIR set: each service writes a CPU profile there when it stops (a Chrome
 * `.cpuprofile` and a markdown summary), so a benchmark run can say where the time went.
 */
export function profiling(name: string): string[] {
  const dir = process.env.PROFILE_DIR;
  if (!dir) return [];
  return ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`];
}

export type StackOptions = {
  mongoUrl: string;
  redisUrl: string;
  jwtSecret: string;
  replicas?: number;
  apiPort?: number;
  realtimePorts?: number[];
  /** each replica's OPS_PORT (health, readiness, metrics); free ports when not given */
  realtimeOpsPorts?: number[];
  /** where each process's output goes: a folder for `<name>.log` files, or "inherit" */
  logs: string | "inherit";
  staticDir?: string;
  extraEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  realtimeEnv?: Record<string, string>;
  /** Bun options before each replica's entry point (a benchmark's `--preload` hook) */
  realtimeBunArgs?: string[];
  /** how long each process may take to report ready (default 30 s) */
  readyTimeoutMs?: number;
};

export type Stack = {
  apiUrl: string;
  realtimeUrls: string[];
  /** each replica's ops listener: /healthz, /readyz, /metrics (never the web port) */
  realtimeOpsUrls: string[];
  children: Child[];
  /** SIGKILL (crash) or SIGTERM (graceful) one realtime replica and wait for it to exit */
  stopReplica(index: number, signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  startReplica(index: number): Promise<void>;
  stop(): Promise<void>;
};

export async function startStack(opts: StackOptions): Promise<Stack> {
  const replicas = opts.replicas ?? 2;
  const apiPort = opts.apiPort ?? (await freePort());
  const realtimePorts = opts.realtimePorts ?? (await Promise.all(Array.from({ length: replicas }, () => freePort())));
  const opsPorts = opts.realtimeOpsPorts ?? (await Promise.all(realtimePorts.map(() => freePort())));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = {
    ...process.env,
    REDIS_URL: opts.redisUrl,
    JWT_SECRET: opts.jwtSecret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...opts.extraEnv,
  };
  const logFile = (name: string) => (opts.logs === "inherit" ? undefined : join(opts.logs, `${name}.log`));
  const children: Child[] = [];
  const replicaProcs: (Child | undefined)[] = [];

  const api = spawnLogged("api", [BUN, ...profiling("api"), join(ROOT, "api/src/index.ts")], {
    env: { ...common, PORT: String(apiPort), MONGO_URL: opts.mongoUrl, ...opts.apiEnv },
    logFile: logFile("api"),
  });
  children.push(api);

  const startReplica = async (i: number) => {
    const port = realtimePorts[i]!;
    const name = `realtime-${i + 1}`;
    const child = spawnLogged(
      name,
      [BUN, ...profiling(name), ...(opts.realtimeBunArgs ?? []), join(ROOT, "realtime/src/index.ts")],
      {
        env: {
          ...common,
          PORT: String(port),
          OPS_PORT: String(opsPorts[i]!),
          API_URL: apiUrl,
          REPLICA_ID: `realtime-${i + 1}`,
          ...(opts.staticDir ? { STATIC_DIR: opts.staticDir } : {}),
          ...opts.realtimeEnv,
        },
        logFile: logFile(name),
      },
    );
    replicaProcs[i] = child;
    children.push(child);
    await waitReady(child, `http://127.0.0.1:${opsPorts[i]}/readyz`, opts.readyTimeoutMs, logFile(name));
  };
  try {
    await waitReady(api, `${apiUrl}/readyz`, opts.readyTimeoutMs, logFile("api"));
    await Promise.all(realtimePorts.map((_, i) => startReplica(i)));
  } catch (err) {
    // the caller never gets these processes if we throw: stop them here, or they keep the ports
    await stopAll(children);
    throw err;
  }

  return {
    apiUrl,
    realtimeUrls: realtimePorts.map((p) => `http://127.0.0.1:${p}`),
    realtimeOpsUrls: opsPorts.map((p) => `http://127.0.0.1:${p}`),
    children,
    startReplica,
    async stopReplica(i, signal = "SIGKILL") {
      const c = replicaProcs[i];
      if (!c) return;
      c.proc.kill(signal);
      await c.proc.exited;
    },
    stop: () => stopAll(children),
  };
}

/**
 * Waits for `url` to answer 2xx. Fails at once when the process exits, and a failure carries the
 * end of the process's log: a start that times out in CI can then be understood from its output.
 */
async function waitReady(child: Child, url: string, timeoutMs = 30_000, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let failure = "";
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      failure = `${child.name} exited (${child.proc.signalCode ?? child.proc.exitCode}) before ${url} answered`;
      break;
    }
    if (await httpOk(url).catch(() => false)) return;
    if (Date.now() >= deadline) {
      failure = `timed out after ${timeoutMs} ms waiting for ${child.name} ${url}`;
      break;
    }
    await Bun.sleep(100);
  }
  const tail = logFile ? logTail(logFile) : "";
  throw new Error(tail ? `${failure}\n--- the end of ${logFile} ---\n${tail}` : failure);
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
