/**
 * What `/readyz` answers, the same way in every service: 200 with status "ready" when every
 * dependency answers, else 503 with "unavailable" (or "stopping" once a graceful shutdown has
 * begun), and each dependency by name as "up" or "down".
 */
import { t } from "elysia";

export const Readiness = t.Object({
  status: t.Union([t.Literal("ready"), t.Literal("unavailable"), t.Literal("stopping")]),
  checks: t.Record(t.String(), t.Union([t.Literal("up"), t.Literal("down")])),
});
export type Readiness = typeof Readiness.static;

export function readinessReport(
  checks: Record<string, boolean>,
  { stopping = false } = {},
): { ok: boolean; body: Readiness } {
  const ok = !stopping && Object.values(checks).every(Boolean);
  return {
    ok,
    body: {
      status: stopping ? "stopping" : ok ? "ready" : "unavailable",
      checks: Object.fromEntries(Object.entries(checks).map(([name, up]) => [name, up ? "up" : "down"])),
    },
  };
}
