/**
 * Liveness, readiness (kit/health's body: Redis answers on both connections, and the replica is
 * not shutting down) and Prometheus metrics, served on OPS_PORT: a port of its own that the load
 * balancer and the Ingress never route to, so the world cannot read the metrics or the
 * readiness of a replica through the web port. The web port keeps only `/healthz` (alive, no
 * detail), which load balancers may ask.
 */
import { readinessReport } from "@parley/kit/health";
import { redisReady } from "@parley/kit/redis";
import { Elysia } from "elysia";
import type { RealtimeMetrics } from "../libs/metrics.ts";
import type { RedisPair } from "../libs/redis.ts";

const alive = () => ({ status: "ok" });

/** The web port's only health route. */
export const liveness = new Elysia({ name: "liveness" }).get("/healthz", alive);

/** The ops listener: its own app, started on OPS_PORT beside the web one. */
export const opsApp = (deps: { redis: RedisPair; metrics: RealtimeMetrics; shuttingDown: () => boolean }) =>
  new Elysia({ serve: { reusePort: false } })
    .get("/healthz", alive)
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
