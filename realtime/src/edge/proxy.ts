/**
 * `/api/*` → API_URL, so the browser sees one origin. Bodies stream both ways; status and
 * headers (every Set-Cookie among them) pass through; hop-by-hop headers do not.
 *
 * Reads wait their turn, writes do not: at most PROXY_READS_AT_ONCE GET/HEAD requests are
 * forwarded at once. When a replica takes over thousands of users at once, their catch-up reads
 * queue here rather than as thousands of open requests to the api, and a send, an edit or a
 * sign-in from anyone reaches the api at once (where it passes the reads waiting for the database
 * too: the api's DB_READS_AT_ONCE, bench/results/reconnect-storm.md). Reads marked as background
 * (a client's catch-up, BACKGROUND_READ_HEADER) let the others go first.
 */
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import { Elysia } from "elysia";
import { Gate } from "@parley/kit/gate";
import type { Logger } from "@parley/kit/log";
import { jsonError } from "../libs/errors.ts";
import type { RealtimeMetrics } from "../libs/metrics.ts";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
  "proxy-connection",
  "host",
  "content-length",
]);

function forwardHeaders(request: Request, clientIp: string | undefined): Headers {
  const out = new Headers();
  const listed = (request.headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase());
  for (const [name, value] of request.headers) {
    if (!HOP_BY_HOP.has(name) && !listed.includes(name)) out.append(name, value);
  }
  const url = new URL(request.url);
  const prior = request.headers.get("x-forwarded-for");
  if (clientIp) out.set("x-forwarded-for", prior ? `${prior}, ${clientIp}` : clientIp);
  out.set("x-forwarded-proto", request.headers.get("x-forwarded-proto") ?? url.protocol.replace(":", ""));
  out.set("x-forwarded-host", request.headers.get("x-forwarded-host") ?? request.headers.get("host") ?? url.host);
  return out;
}

function responseHeaders(upstream: Response): Headers {
  const out = new Headers();
  for (const [name, value] of upstream.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    out.append(name, value);
  }
  for (const cookie of upstream.headers.getSetCookie()) out.append("set-cookie", cookie);
  return out;
}

/** GET and HEAD requests forwarded at once: what one replica keeps open to the api (which handles DB_READS_AT_ONCE of them at a time). */
export const PROXY_READS_AT_ONCE = 128;

/** A read's turn to go to the api: catch-ups (BACKGROUND_READ_HEADER) after the others. */
async function readTurn(reads: Gate, request: Request, waiting: RealtimeMetrics["proxyReadsWaiting"]) {
  waiting.inc();
  try {
    return await reads.enter(!request.headers.has(BACKGROUND_READ_HEADER));
  } finally {
    waiting.dec();
  }
}

export function apiProxy(apiUrl: string, log: Logger, metrics: Pick<RealtimeMetrics, "proxyReadsWaiting">) {
  const reads = new Gate(PROXY_READS_AT_ONCE);
  const forward = async ({ request, server }: { request: Request; server: Bun.Server<unknown> | null }) => {
    const url = new URL(request.url);
    const target = `${apiUrl}${url.pathname}${url.search}`;
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    let upstream: Response;
    try {
      const init = {
        method: request.method,
        headers: forwardHeaders(request, server?.requestIP(request)?.address),
        body: hasBody ? request.body : undefined,
        redirect: "manual",
        // keep the api's encoding as-is: the client decodes it, not us
        decompress: false,
        // streams the request body instead of buffering it
        duplex: "half",
      };
      if (hasBody) upstream = await fetch(target, init as RequestInit);
      else {
        const leave = await readTurn(reads, request, metrics.proxyReadsWaiting);
        try {
          upstream = await fetch(target, init as RequestInit);
        } finally {
          leave();
        }
      }
    } catch (err) {
      log.warn({ path: url.pathname, err: (err as Error).message }, "api unreachable");
      return jsonError(503, "unavailable", "the api is not reachable right now; try again shortly");
    }
    return new Response(upstream.body, {
      status: upstream.status,
      statusText: upstream.statusText,
      headers: responseHeaders(upstream),
    });
  };
  // One route per method, not `.all`: a method-specific wildcard (the frontend's `GET /*`)
  // would otherwise win over `ALL /api/*`.
  return new Elysia({ name: "api-proxy" })
    .get("/api/*", forward)
    .head("/api/*", forward)
    .post("/api/*", forward)
    .put("/api/*", forward)
    .patch("/api/*", forward)
    .delete("/api/*", forward)
    .options("/api/*", forward);
}
