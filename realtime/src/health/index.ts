/**
 * Liveness, readiness (kit/health's body: Redis answers on both connections, and the replica is
 * not shutting down) and Prometheus metrics.
 */
import { readinessReport } from "@parley/kit/health";
import { redisReady } from "@parley/kit/redis";
import { Elysia } from "elysia";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { RedisPair } from "../libs/redis.ts";

export const health = (deps: { redis: RedisPair; metrics: RealtimeMetrics; shuttingDown: () => boolean }) =>
  new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", async ({ set }) => {
      const redis = await redisReady(deps.redis.commands, deps.redis.subscriber);
      const { ok, body } = readinessReport({ redis }, { stopping: deps.shuttingDown() });
      set.status = ok ? 200 : 503;
      return body;
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = deps.metrics.contentType;
      return await deps.metrics.text();
    });
