/**
 * Once shutdown begins, the replica says so on /readyz (503, status "stopping") and refuses new
 * socket upgrades, even while its Redis connections are still fine.
 */
import { expect, test, setDefaultTimeout } from "bun:test";
import { createLogger } from "@parley/kit/log";
import { redisReady } from "@parley/kit/redis";
import { buildRealtime } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";
import { connectRedisPair } from "../src/libs/redis.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { JWT_SECRET, testRedisUrl } from "./helpers/env.ts";
import { signToken } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

test("during shutdown readyz is 503 and upgrades are refused before Redis is closed", async () => {
  const config = loadConfig({
    REDIS_URL: testRedisUrl,
    JWT_SECRET,
    REPLICA_ID: "shutdown-test",
    STATIC_DIR: "/nonexistent",
  });
  const log = createLogger("realtime", "silent");
  const metrics = createRealtimeMetrics();
  const redis = connectRedisPair(config.redisUrl, log, metrics, config.replicaId);
  const realtime = await buildRealtime({ config, log, metrics, redis });
  await waitFor("redis ready", () => redisReady(redis.commands, redis.subscriber));
  const get = (path: string, headers: Record<string, string> = {}) =>
    realtime.app.handle(new Request(`http://localhost${path}`, { headers }));

  const ready = (path: string) => realtime.ops.handle(new Request(`http://localhost${path}`));
  expect((await ready("/readyz")).status).toBe(200);

  // shutdown sets its flag at once and closes Redis only after closing sockets and presence
  const stopping = realtime.shutdown();

  const stoppingReady = await ready("/readyz");
  expect(stoppingReady.status).toBe(503);
  expect(await stoppingReady.json()).toEqual({ status: "stopping", checks: { redis: "up" } });
  const token = signToken({ sub: "a".repeat(24) });
  const upgrade = await get(`/ws?token=${token}`, {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
  });
  expect(upgrade.status).toBe(503);
  expect(((await upgrade.json()) as { error: { code: string } }).error.code).toBe("unavailable");

  await stopping;
  await waitFor(
    "redis connections closed",
    async () => redis.commands.status === "end" && redis.subscriber.status === "end",
    5000,
  );
});
