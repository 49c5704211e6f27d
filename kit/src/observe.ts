/**
 * One JSON log line and one `http_request_duration_seconds` sample (kit/metrics) per request,
 * in every service: method, route pattern (never the raw path, so ids do not blow up label
 * cardinality), status, milliseconds. Nothing from headers, query strings or bodies is logged,
 * so tokens, cookies and passwords cannot leak here. Probes and scrapes are measured, not logged.
 */
import { Elysia } from "elysia";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";

const started = new WeakMap<Request, number>();

export const observe = (log: Logger, metrics: Pick<Metrics, "httpDuration">) =>
  new Elysia({ name: "observe" })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: "global" }, ({ request, route, set, responseValue }) => {
      const begin = started.get(request);
      const ms = begin === undefined ? 0 : performance.now() - begin;
      const status = statusOf(set.status, responseValue);
      const pattern = route || "unmatched";
      metrics.httpDuration.observe({ method: request.method, route: pattern, status: String(status) }, ms / 1000);
      if (pattern === "/metrics" || pattern === "/healthz" || pattern === "/readyz") return;
      log.info({ method: request.method, route: pattern, status, ms: Math.round(ms * 10) / 10 }, "request");
    });

function statusOf(status: number | string | undefined, response: unknown): number {
  if (response instanceof Response) return response.status;
  return typeof status === "number" ? status : 200;
}
