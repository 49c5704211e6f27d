/**
 * The api's configuration: the only place that reads process.env. Every bad variable is
 * reported at once (kit/env) so a broken deployment fails at start with one clear message.
 */
import { envReader } from "@parley/kit/env";

export type Config = {
  port: number;
  host: string;
  mongoUrl: string;
  redisUrl: string;
  jwtSecret: string;
  jwtTtlSeconds: number;
  jwtIssuer: string;
  jwtAudience: string;
  cookieSecure: "auto" | "true" | "false";
  trustProxy: boolean;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** messages one user may send per window (abuse guard; the bench raises it) */
  sendRateMax: number;
  sendRateWindowSeconds: number;
  logLevel: string;
};

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const env = envReader(source);
  const config: Config = {
    port: env.port("PORT", 3000),
    host: env.string("HOST", "0.0.0.0"),
    mongoUrl: env.url("MONGO_URL", "mongodb://127.0.0.1:27017/parley", ["mongodb:", "mongodb+srv:"]),
    redisUrl: env.url("REDIS_URL", "redis://127.0.0.1:6379", ["redis:", "rediss:"]),
    jwtSecret: env.secret("JWT_SECRET", 32),
    jwtTtlSeconds: env.int("JWT_TTL_SECONDS", 604800, { min: 60, max: 31_536_000 }),
    jwtIssuer: env.string("JWT_ISSUER", "parley"),
    jwtAudience: env.string("JWT_AUDIENCE", "parley"),
    cookieSecure: env.oneOf("COOKIE_SECURE", ["auto", "true", "false"] as const, "auto"),
    trustProxy: env.bool("TRUST_PROXY", false),
    loginMaxFailures: env.int("LOGIN_MAX_FAILURES", 5, { min: 1, max: 10_000 }),
    loginWindowSeconds: env.int("LOGIN_WINDOW_SECONDS", 900, { min: 1, max: 86_400 }),
    sendRateMax: env.int("SEND_RATE_MAX", 20, { min: 1, max: 1_000_000 }),
    sendRateWindowSeconds: env.int("SEND_RATE_WINDOW_SECONDS", 10, { min: 1, max: 3600 }),
    logLevel: env.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const, "info"),
  };
  env.done();
  return config;
}
