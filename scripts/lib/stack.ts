/**
 * Starts Parley's own processes (one api, N realtime replicas) against a given Redis and
 * MongoDB-compatible server, with the same commands the container images run. Used by the
 * local runner, the integration tests, the end-to-end tests and the benchmarks, so all of them
 * exercise the production start path.
 */
import { join } from "node:path";
import { ROOT, type Child } from "./infra.ts";
import { freePort, httpOk, waitFor } from "./ports.ts";

export const BUN = process.execPath;

export type StackOptions = {
  mongoUrl: string;
  redisUrl: string;
  jwtSecret: string;
  replicas?: number;
  apiPort?: number;
  realtimePorts?: number[];
  /** where each process's output goes: a folder for `<name>.log` files, or "inherit" */
  logs: string | "inherit";
  staticDir?: string;
  extraEnv?: Record<string, string>;
  apiEnv?: Record<string, string>;
  realtimeEnv?: Record<string, string>;
};

export type Stack = {
  apiUrl: string;
  realtimeUrls: string[];
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
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const common = {
    ...process.env,
    REDIS_URL: opts.redisUrl,
    JWT_SECRET: opts.jwtSecret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...opts.extraEnv,
  };
  const out = (name: string) => (opts.logs === "inherit" ? "inherit" : Bun.file(join(opts.logs, `${name}.log`)));
  const children: Child[] = [];
  const replicaProcs: (Child | undefined)[] = [];

  const api = Bun.spawn([BUN, join(ROOT, "api/src/index.ts")], {
    env: { ...common, PORT: String(apiPort), MONGO_URL: opts.mongoUrl, ...opts.apiEnv },
    stdout: out("api"),
    stderr: out("api"),
  });
  children.push({ name: "api", proc: api });
  await waitFor(`api /readyz on port ${apiPort}`, () => httpOk(`${apiUrl}/readyz`), 30_000);

  const startReplica = async (i: number) => {
    const port = realtimePorts[i]!;
    const proc = Bun.spawn([BUN, join(ROOT, "realtime/src/index.ts")], {
      env: {
        ...common,
        PORT: String(port),
        API_URL: apiUrl,
        REPLICA_ID: `realtime-${i + 1}`,
        ...(opts.staticDir ? { STATIC_DIR: opts.staticDir } : {}),
        ...opts.realtimeEnv,
      },
      stdout: out(`realtime-${i + 1}`),
      stderr: out(`realtime-${i + 1}`),
    });
    const child = { name: `realtime-${i + 1}`, proc };
    replicaProcs[i] = child;
    children.push(child);
    await waitFor(`realtime-${i + 1} /readyz on port ${port}`, () => httpOk(`http://127.0.0.1:${port}/readyz`), 30_000);
  };
  await Promise.all(realtimePorts.map((_, i) => startReplica(i)));

  return {
    apiUrl,
    realtimeUrls: realtimePorts.map((p) => `http://127.0.0.1:${p}`),
    children,
    startReplica,
    async stopReplica(i, signal = "SIGKILL") {
      const c = replicaProcs[i];
      if (!c) return;
      c.proc.kill(signal);
      await c.proc.exited;
    },
    async stop() {
      for (const c of [...children].reverse()) if (c.proc.exitCode === null) c.proc.kill("SIGTERM");
      await Promise.race([Promise.all(children.map((c) => c.proc.exited)), Bun.sleep(10_000)]);
      for (const c of children) if (c.proc.exitCode === null) c.proc.kill("SIGKILL");
      await Promise.all(children.map((c) => c.proc.exited));
    },
  };
}
