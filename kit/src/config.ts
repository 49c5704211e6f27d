/**
 * The configuration every Parley server reads the same way: where it listens, its Redis (one
 * server, REDIS_URL, or a Redis Cluster, REDIS_CLUSTER_NODES), how session tokens are checked,
 * and how much it logs. A service's own config.ts adds its fields next to these and calls
 * `env.done()` once, so every bad variable is still reported at once.
 */
import type { EnvReader } from "./env.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Session tokens: HS256 with this secret, issuer and audience (the same values in every service). */
export type JwtSettings = { jwtSecret: string; jwtIssuer: string; jwtAudience: string };

/** A Redis Cluster seed node. */
export type RedisNode = { host: string; port: number };

export type ServerConfig = JwtSettings & {
  port: number;
  host: string;
  redisUrl: string;
  /** seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES); when given, REDIS_URL is not used */
  redisClusterNodes: RedisNode[];
  logLevel: LogLevel;
};

export function serverConfig(env: EnvReader, { defaultPort }: { defaultPort: number }): ServerConfig {
  return {
    port: env.port("PORT", defaultPort),
    host: env.string("HOST", "0.0.0.0"),
    redisUrl: env.url("REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
    redisClusterNodes: env.hostPorts("REDIS_CLUSTER_NODES"),
    jwtSecret: env.secret("JWT_SECRET", 32),
    jwtIssuer: env.string("JWT_ISSUER", "parley"),
    jwtAudience: env.string("JWT_AUDIENCE", "parley"),
    logLevel: env.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
  };
}
