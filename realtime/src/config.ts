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
  const config = {
    ...serverConfig(env, { defaultPort: 8080 }),
    apiUrl: env.url("API_URL", "http://127.0.0.1:3000", ["http:", "https:"]).replace(/\/+$/, ""),
    staticDir: resolve(env.string("STATIC_DIR", resolve(import.meta.dir, "../../frontend/dist"))),
    /** exact origins (scheme://host[:port]); empty = only the origin the Host header names */
    allowedOrigins: env.list("ALLOWED_ORIGINS", []).map((o) => o.replace(/\/+$/, "").toLowerCase()),
    replicaId: env.string("REPLICA_ID", `${hostname()}-${process.pid}`),
    shutdownGraceMs: env.int("SHUTDOWN_GRACE_MS", 10_000, { min: 1000, max: 600_000 }),
  };
  env.done();
  return config;
}
