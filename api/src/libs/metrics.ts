/** The api's Prometheus metrics: kit's registry (HTTP durations) plus the api's own counters. */
import { createMetrics } from "@parley/kit/metrics";

export function apiMetrics() {
  const m = createMetrics("api");
  return {
    ...m,
    messagesSent: m.counter({
      name: "parley_messages_sent_total",
      help: "Messages committed (new, not idempotent replays)",
    }),
    publishFailures: m.counter({
      name: "parley_publish_failures_total",
      help: "Fan-out events Redis did not confirm at the first attempt (kept and published again)",
      labelNames: ["type"] as const,
    }),
    publishUnconfirmed: m.gauge({
      name: "parley_publish_unconfirmed",
      help: "Fan-out events waiting to be published again (Redis did not confirm them yet)",
    }),
    orphansRepublished: m.counter({
      name: "parley_orphans_republished_total",
      help: "Committed messages found unpublished and unrecorded (their api process stopped) and published when read",
    }),
    seqConflicts: m.counter({
      name: "parley_seq_conflicts_total",
      help: "Sends that lost a seq race and retried with a fresh seq",
    }),
    sessionCheckErrors: m.counter({
      name: "parley_session_check_errors_total",
      help: "Sign-out checks skipped because Redis did not answer (the token's signature alone decided)",
    }),
    readsWaiting: m.gauge({
      name: "parley_reads_waiting",
      help: "Reads (GET) waiting for their turn at the database (DB_READS_AT_ONCE at once; writes never wait)",
    }),
    rateLimitErrors: m.counter({
      name: "parley_rate_limit_errors_total",
      help: "Rate-limit checks skipped because Redis did not answer (fail open)",
    }),
  };
}
export type ApiMetrics = ReturnType<typeof apiMetrics>;
