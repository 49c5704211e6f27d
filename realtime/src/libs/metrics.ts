/** Realtime's Prometheus metrics, on top of the kit registry (process defaults + HTTP). */
import { createMetrics } from "@parley/kit/metrics";

export function createRealtimeMetrics() {
  const m = createMetrics("realtime");
  return {
    ...m,
    openSockets: m.gauge({ name: "realtime_open_sockets", help: "WebSockets open on this replica" }),
    connectedUsers: m.gauge({
      name: "realtime_connected_users",
      help: "Distinct users with at least one socket on this replica",
    }),
    delivered: m.counter({
      name: "realtime_events_delivered_total",
      help: "Frames written to local sockets, by frame type",
      labelNames: ["type"] as const,
    }),
    fanoutLatency: m.histogram({
      name: "realtime_fanout_latency_seconds",
      help: "Time from commit (committedAt) to the event being written to this replica's sockets (one observation per event per replica)",
      labelNames: ["type"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    redisReconnects: m.counter({
      name: "realtime_redis_reconnects_total",
      help: "Redis connections re-established after a loss",
      labelNames: ["connection"] as const,
    }),
    droppedFrames: m.counter({
      name: "realtime_dropped_frames_total",
      help: "Frames not delivered, by frame type and reason",
      labelNames: ["type", "reason"] as const,
    }),
    slowClientCloses: m.counter({
      name: "realtime_slow_client_closes_total",
      help: "Sockets closed with 4002 because they could not keep up",
    }),
    subscribedChannels: m.gauge({
      name: "realtime_redis_subscribed_channels",
      help: "Redis pub/sub channels this replica subscribes to",
    }),
    proxyReadsWaiting: m.gauge({
      name: "realtime_proxy_reads_waiting",
      help: "Reads (GET/HEAD to /api) waiting for their turn to go to the api (PROXY_READS_AT_ONCE at once)",
    }),
    refusedSockets: m.counter({
      name: "realtime_refused_sockets_total",
      help: "Sockets closed right after opening, by reason (e.g. too many for one user)",
      labelNames: ["reason"] as const,
    }),
    typingRejected: m.counter({
      name: "realtime_typing_rejected_total",
      help: "Client typing frames refused, by reason",
      labelNames: ["reason"] as const,
    }),
  };
}
export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;
