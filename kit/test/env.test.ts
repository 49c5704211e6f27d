import { expect, test } from "bun:test";
import { ConfigError, envReader } from "../src/env.ts";

test("defaults apply when variables are absent or blank", () => {
  const env = envReader({ PORT: "  " });
  expect(env.port("PORT", 3000)).toBe(3000);
  expect(env.bool("FLAG", true)).toBe(true);
  expect(env.list("ORIGINS", [])).toEqual([]);
  env.done();
});

test("every bad variable is reported at once, by name", () => {
  const env = envReader({ PORT: "70000", FLAG: "maybe", MODE: "x", REDIS_URL: "http://h", JWT_SECRET: "short" });
  env.port("PORT", 1);
  env.bool("FLAG", false);
  env.oneOf("MODE", ["a", "b"] as const, "a");
  env.url("REDIS_URL", "redis://localhost", ["redis:"]);
  env.secret("JWT_SECRET", 32);
  env.secret("MISSING_SECRET", 32);
  let error: unknown;
  try {
    env.done();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems;
  expect(problems).toHaveLength(6);
  expect(problems.join("\n")).toContain("PORT must be an integer between 0 and 65535");
  expect(problems.join("\n")).toContain("MISSING_SECRET is required");
});

test("a secret's value never appears in the message", () => {
  const env = envReader({ JWT_SECRET: "hunter2-not-long-enough" });
  env.secret("JWT_SECRET", 32);
  expect(() => env.done()).toThrow(ConfigError);
  try {
    env.done();
  } catch (e) {
    expect((e as Error).message).not.toContain("hunter2");
  }
});

test("a URL with credentials is not echoed back when its scheme is wrong", () => {
  const env = envReader({ MONGO_URL: "http://user:pass@db:27017/x" });
  env.url("MONGO_URL", "mongodb://localhost/x", ["mongodb:"]);
  try {
    env.done();
    throw new Error("expected a ConfigError");
  } catch (e) {
    expect((e as Error).message).toContain("MONGO_URL must start with mongodb://");
    expect((e as Error).message).not.toContain("pass");
  }
});

test("valid values parse to their types", () => {
  const env = envReader({ PORT: "8081", FLAG: "off", ORIGINS: "https://a.test, https://b.test", MODE: "b" });
  expect(env.port("PORT", 1)).toBe(8081);
  expect(env.bool("FLAG", true)).toBe(false);
  expect(env.list("ORIGINS", [])).toEqual(["https://a.test", "https://b.test"]);
  expect(env.oneOf("MODE", ["a", "b"] as const, "a")).toBe("b");
  env.done();
});

test("REDIS_CLUSTER_NODES: host:port seeds, or one message naming the bad entry; unset means one Redis", async () => {
  const { serverConfig } = await import("../src/config.ts");
  const { redisTarget } = await import("../src/redis.ts");
  const secret = "s".repeat(32);
  const ok = envReader({ JWT_SECRET: secret, REDIS_CLUSTER_NODES: "redis-0:6379, 10.0.0.7:7000,[::1]:6380" });
  const config = serverConfig(ok, { defaultPort: 1 });
  ok.done();
  expect(config.redisClusterNodes).toEqual([
    { host: "redis-0", port: 6379 },
    { host: "10.0.0.7", port: 7000 },
    { host: "::1", port: 6380 },
  ]);
  expect(redisTarget(config)).toEqual({ cluster: config.redisClusterNodes });

  const single = envReader({ JWT_SECRET: secret });
  expect(redisTarget(serverConfig(single, { defaultPort: 1 }))).toEqual({ url: "redis://127.0.0.1:6379" });

  const bad = envReader({ JWT_SECRET: secret, REDIS_CLUSTER_NODES: "redis-0:6379,redis-1,redis-2:99999" });
  serverConfig(bad, { defaultPort: 1 });
  let problems: string[] = [];
  try {
    bad.done();
  } catch (e) {
    problems = (e as ConfigError).problems;
  }
  expect(problems).toEqual([
    'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (e.g. redis-0:6379,redis-1:6379), got "redis-1"',
    'REDIS_CLUSTER_NODES must be a comma-separated list of host:port (e.g. redis-0:6379,redis-1:6379), got "redis-2:99999"',
  ]);
});
