/**
 * Prometheus metrics. Each service gets its own registry with the process defaults, and an
 * HTTP duration histogram labelled by route pattern (never by raw path, to bound cardinality).
 */
import client from "prom-client";

export function createMetrics(service: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    registry,
    httpDuration,
    counter: <L extends string>(cfg: { name: string; help: string; labelNames?: readonly L[] }) =>
      new client.Counter<L>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [registry] }),
    gauge: <L extends string>(cfg: { name: string; help: string; labelNames?: readonly L[] }) =>
      new client.Gauge<L>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [registry] }),
    histogram: <L extends string>(cfg: { name: string; help: string; buckets: number[]; labelNames?: readonly L[] }) =>
      new client.Histogram<L>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [registry] }),
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
