/**
 * Reads wait their turn, writes do not: at most DB_READS_AT_ONCE reads (GET and HEAD under
 * /api) are handled at once; the others wait here until one finishes (in arrival order, the
 * catch-ups after the rest, see below). Sends,
 * edits and sign-ins never wait here. When a realtime replica dies, its thousands of users
 * reconnect elsewhere and each asks for what it missed; without this their reads all reached
 * the database pool together and everyone else's send waited behind them for seconds
 * (bench/results/reconnect-storm.md). With it, a write waits behind at most that many reads, and
 * a read a person is waiting for (opening a conversation) goes before the catch-ups, which say
 * they can wait (BACKGROUND_READ_HEADER).
 *
 * The place is given back when the answer has gone out (onAfterResponse runs for every request
 * that entered, failed, refused or abandoned by its client included).
 */
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import { Elysia } from "elysia";
import { Gate } from "@parley/kit/gate";
import type { ApiMetrics } from "../libs/metrics.ts";

const isRead = (request: Request) =>
  (request.method === "GET" || request.method === "HEAD") && new URL(request.url).pathname.startsWith("/api/");

export function readAdmission(limit: number, metrics: Pick<ApiMetrics, "readsWaiting">) {
  const gate = new Gate(limit);
  const places = new WeakMap<Request, () => void>();
  return new Elysia({ name: "read-admission" })
    .onRequest(async ({ request }) => {
      if (!isRead(request)) return;
      metrics.readsWaiting.inc();
      try {
        places.set(request, await gate.enter(!request.headers.has(BACKGROUND_READ_HEADER)));
      } finally {
        metrics.readsWaiting.dec();
      }
    })
    .onAfterResponse({ as: "global" }, ({ request }) => {
      places.get(request)?.();
      places.delete(request);
    });
}
