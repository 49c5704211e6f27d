/** /healthz (alive), /readyz (MongoDB and Redis answer; kit/health's shape), /metrics (Prometheus text). */
import { Elysia, t } from "elysia";
import type { Deps } from "../../libs/deps.ts";
import { Readiness } from "./model.ts";
import { readiness } from "./service.ts";

export const healthRoutes = (deps: Deps) =>
  new Elysia({ tags: ["health"] })
    .get("/healthz", () => ({ status: "ok" as const }), {
      response: t.Object({ status: t.Literal("ok") }),
      detail: { summary: "Alive", security: [] },
    })
    .get(
      "/readyz",
      async ({ set }) => {
        const { ok, body } = await readiness(deps);
        set.status = ok ? 200 : 503;
        return body;
      },
      {
        response: { 200: Readiness, 503: Readiness },
        detail: { summary: "Dependencies answer (503 when any is down)", security: [] },
      },
    )
    .get(
      "/metrics",
      async () => new Response(await deps.metrics.text(), { headers: { "content-type": deps.metrics.contentType } }),
      {
        detail: {
          summary: "Prometheus metrics (inside the cluster only: not under /api, so never routed from outside)",
          security: [],
          responses: {
            200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } },
          },
        },
      },
    );
