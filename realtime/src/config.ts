/**
 * Environment → typed, validated configuration. The only place in realtime that reads
 * process.env; the fields every server shares come from kit/config, and every bad variable is
 * reported at once at start.
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { serverConfig } from "@parley/kit/config";
import { envReader } from "@parley/kit/env";

export type Config = ReturnType<typeof loadConfig>;

export function loadConfig(source: Record<string, string | undefined> = process.env) {
  const env = envReader(source);
  const common = serverConfig(env, { defaultPort: 8080 });
  const config = {
    ...common,
    apiUrl: env.url("API_URL", "http://127.0.0.1:3000", ["http:", "https:"]).replace(/\/+$/, ""),
    staticDir: resolve(env.string("STATIC_DIR", resolve(import.meta.dir, "../../frontend/dist"))),
    /** /healthz, /readyz and /metrics are served here, never on the web port the edge exposes */
    opsPort: env.port("OPS_PORT", 9090),
    /** where the ops listener binds (default: HOST); loopback keeps it on the machine */
    opsHost: env.string("OPS_HOST", common.host),
    /** exact origins (scheme://host[:port]) allowed besides the origin the Host header names */
    allowedOrigins: env.list("ALLOWED_ORIGINS", []).map((o) => o.replace(/\/+$/, "").toLowerCase()),
    replicaId: env.string("REPLICA_ID", `${hostname()}-${process.pid}`),
    shutdownGraceMs: env.int("SHUTDOWN_GRACE_MS", 10_000, { min: 1000, max: 600_000 }),
    /** sockets one user may hold on this replica (a tab each); more are closed with 4004 */
    maxSocketsPerUser: env.int("WS_MAX_SOCKETS_PER_USER", 10, { min: 1, max: 1000 }),
  };
  env.done();
  return config;
}
