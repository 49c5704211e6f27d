/**
 * The api's configuration: the only place that reads process.env. The fields every server
 * shares come from kit/config; every bad variable is reported at once (kit/env), so a broken
 * deployment fails at start with one clear message.
 */
import { serverConfig, type ServerConfig } from "@parley/kit/config";
import { envReader } from "@parley/kit/env";

export type Config = ServerConfig & {
  mongoUrl: string;
  jwtTtlSeconds: number;
  cookieSecure: "auto" | "true" | "false";
  trustProxy: boolean;
  loginMaxFailures: number;
  loginUserMaxFailures: number;
  loginWindowSeconds: number;
  registerRateMax: number;
  registerRateWindowSeconds: number;
  /** argon2id hashes at once (sign-ins; registrations get half of it) */
  passwordHashConcurrency: number;
  conversationCreateMax: number;
  conversationCreateWindowSeconds: number;
  /** messages one user may send per window (abuse guard; the bench raises it) */
  sendRateMax: number;
  sendRateWindowSeconds: number;
  /** edits, deletes and reactions one user may make per window */
  changeRateMax: number;
  changeRateWindowSeconds: number;
  /** renames and additions of members one user may make per window */
  groupRateMax: number;
  groupRateWindowSeconds: number;
  /** reads handled at once; the others wait their turn, writes never do (plugins/read-admission.ts) */
  dbReadsAtOnce: number;
};

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const env = envReader(source);
  const config: Config = {
    ...serverConfig(env, { defaultPort: 3000 }),
    mongoUrl: env.url("MONGO_URL", "mongodb://127.0.0.1:27017/parley", ["mongodb:", "mongodb+srv:"]),
    jwtTtlSeconds: env.int("JWT_TTL_SECONDS", 604800, { min: 60, max: 31_536_000 }),
    cookieSecure: env.oneOf("COOKIE_SECURE", ["auto", "true", "false"] as const, "auto"),
    trustProxy: env.bool("TRUST_PROXY", false),
    loginMaxFailures: env.int("LOGIN_MAX_FAILURES", 5, { min: 1, max: 10_000 }),
    loginUserMaxFailures: env.int("LOGIN_USER_MAX_FAILURES", 50, { min: 1, max: 1_000_000 }),
    loginWindowSeconds: env.int("LOGIN_WINDOW_SECONDS", 900, { min: 1, max: 86_400 }),
    registerRateMax: env.int("REGISTER_RATE_MAX", 10, { min: 1, max: 1_000_000 }),
    registerRateWindowSeconds: env.int("REGISTER_RATE_WINDOW_SECONDS", 3600, { min: 1, max: 86_400 }),
    passwordHashConcurrency: env.int("PASSWORD_HASH_CONCURRENCY", 2, { min: 1, max: 64 }),
    conversationCreateMax: env.int("CONVERSATION_CREATE_MAX", 20, { min: 1, max: 1_000_000 }),
    conversationCreateWindowSeconds: env.int("CONVERSATION_CREATE_WINDOW_SECONDS", 600, { min: 1, max: 86_400 }),
    sendRateMax: env.int("SEND_RATE_MAX", 20, { min: 1, max: 1_000_000 }),
    sendRateWindowSeconds: env.int("SEND_RATE_WINDOW_SECONDS", 10, { min: 1, max: 3600 }),
    changeRateMax: env.int("CHANGE_RATE_MAX", 30, { min: 1, max: 1_000_000 }),
    changeRateWindowSeconds: env.int("CHANGE_RATE_WINDOW_SECONDS", 10, { min: 1, max: 3600 }),
    groupRateMax: env.int("GROUP_RATE_MAX", 10, { min: 1, max: 1_000_000 }),
    groupRateWindowSeconds: env.int("GROUP_RATE_WINDOW_SECONDS", 60, { min: 1, max: 3600 }),
    dbReadsAtOnce: env.int("DB_READS_AT_ONCE", 16, { min: 1, max: 4096 }),
  };
  env.done();
  return config;
}
