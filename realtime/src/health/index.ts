/** Liveness, readiness (Redis up and not shutting down) and Prometheus metrics. */
import { Elysia } from "elysia";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import { type RedisPair } from "../libs/redis.ts";

export const health = (deps: {
  redis: RedisPair;
  metrics: RealtimeMetrics;
  shuttingDown: () => boolean;
  replicaId: string;
}) =>
  new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      const checks = {
        redisCommands: deps.redis.commands.status === "ready" ? "up" : "down",
        redisSubscriber: deps.redis.subscriber.status === "ready" ? "up" : "down",
        accepting: deps.shuttingDown() ? "no (shutting down)" : "yes",
      };
      const ready = checks.redisCommands === "up" && checks.redisSubscriber === "up" && !deps.shuttingDown();
      set.status = ready ? 200 : 503;
      return { status: ready ? "ready" : "unavailable", replica: deps.replicaId, checks };
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = deps.metrics.contentType;
      return await deps.metrics.text();
    });
