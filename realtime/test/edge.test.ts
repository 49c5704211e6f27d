/**
 * The edge role: the built frontend (cache policy, SPA fallback, a notice when not built),
 * security headers on every response, and the /api proxy (status, every Set-Cookie, streamed
 * bodies, X-Forwarded-*, 503 when the api is unreachable).
 *
 * realtime is built in-process from its real parts (real Redis); the upstream is a small real
 * HTTP server standing in for the api where the api itself would not show a case (several
 * Set-Cookie headers at once, a streamed answer).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@parley/kit/log";
import { buildRealtime, type Realtime } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";
import { connectRedisPair } from "../src/libs/redis.ts";
import { freePort, waitFor } from "../../scripts/lib/ports.ts";
import { PROXY_READS_AT_ONCE } from "../src/edge/proxy.ts";
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import { JWT_SECRET, testRedisUrl } from "./helpers/env.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

const dist = mkdtempSync(join(tmpdir(), "parley-dist-"));
mkdirSync(join(dist, "assets"));
writeFileSync(
  join(dist, "index.html"),
  "<!doctype html><title>Parley</title><script type=module src=/assets/app-1a2b3c4d.js></script>",
);
writeFileSync(join(dist, "assets/app-1a2b3c4d.js"), "console.log('parley')");
writeFileSync(join(dist, "assets/app-1a2b3c4d.js.map"), "{}");
writeFileSync(join(dist, "assets/my-component.js"), "export {}");
writeFileSync(join(dist, "robots.txt"), "User-agent: *");

let upstream: ReturnType<typeof Bun.serve>;
const firstChunkSeen = Promise.withResolvers<void>();
/** what /api/held waits for, and how many are waiting */
const release = Promise.withResolvers<void>();
let held = 0;
/** the paths of /api/held and /api/probe requests in the order they reached the api */
const arrivals: string[] = [];
const running: { realtime: Realtime; url: string; ops: string }[] = [];

async function startRealtime(env: Record<string, string>) {
  const port = await freePort();
  const opsPort = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: "127.0.0.1",
    REDIS_URL: testRedisUrl,
    JWT_SECRET,
    REPLICA_ID: `edge-${port}`,
    ...env,
  });
  const log = createLogger("realtime", "silent");
  const metrics = createRealtimeMetrics();
  const realtime = await buildRealtime({
    config,
    log,
    metrics,
    redis: connectRedisPair(config.redisUrl, log, metrics, config.replicaId),
  });
  realtime.app.listen({ port, hostname: "127.0.0.1", reusePort: false });
  realtime.ops.listen({ port: opsPort, hostname: "127.0.0.1", reusePort: false });
  const entry = { realtime, url: `http://127.0.0.1:${port}`, ops: `http://127.0.0.1:${opsPort}` };
  running.push(entry);
  return entry.url;
}
const opsOf = (url: string) => running.find((r) => r.url === url)!.ops;

let site: string;
let bare: string;
let noApi: string;

beforeAll(async () => {
  upstream = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/api/echo") {
        const body = await req.text();
        const seen = Object.fromEntries(
          ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "authorization", "connection", "keep-alive"].map(
            (h) => [h, req.headers.get(h)],
          ),
        );
        const headers = new Headers({ "content-type": "application/json" });
        headers.append("set-cookie", "session=abc; HttpOnly; Path=/; SameSite=Lax");
        headers.append("set-cookie", "theme=dark; Path=/");
        return new Response(
          JSON.stringify({ method: req.method, path: url.pathname, search: url.search, body, seen }),
          { status: 418, headers },
        );
      }
      if (url.pathname === "/api/probe") {
        arrivals.push(url.pathname);
        return Response.json({ probe: true });
      }
      if (url.pathname === "/api/held") {
        arrivals.push(url.pathname);
        held++;
        await release.promise;
        return Response.json({ held: true });
      }
      if (url.pathname === "/api/stream") {
        // the rest is held back until the test has read the first chunk: a buffering proxy deadlocks
        const stream = new ReadableStream({
          async start(c) {
            c.enqueue(new TextEncoder().encode("chunk0\n"));
            await firstChunkSeen.promise;
            c.enqueue(new TextEncoder().encode("chunk1\n"));
            c.close();
          },
        });
        return new Response(stream, { status: 200, headers: { "content-type": "text/plain" } });
      }
      return new Response("nope", { status: 404 });
    },
  });
  site = await startRealtime({ STATIC_DIR: dist, API_URL: `http://127.0.0.1:${upstream.port}` });
  bare = await startRealtime({ STATIC_DIR: join(dist, "missing"), API_URL: `http://127.0.0.1:${upstream.port}` });
  noApi = await startRealtime({ STATIC_DIR: dist, API_URL: `http://127.0.0.1:${await freePort()}` });
});
afterAll(async () => {
  for (const r of running) await r.realtime.shutdown();
  upstream?.stop(true);
});

const expectSecurityHeaders = (res: Response) => {
  expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
  expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  // sockets only to our own origin ('self' covers same-origin ws:/wss:), never to any host
  expect(res.headers.get("content-security-policy")).toContain("connect-src 'self';");
  expect(res.headers.get("content-security-policy")).not.toMatch(/\bwss?:/);
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
};

describe("frontend", () => {
  test("/ is index.html, not cached; hashed assets are immutable; unknown page paths fall back to index.html", async () => {
    const index = await fetch(`${site}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain("<title>Parley</title>");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expectSecurityHeaders(index);

    const asset = await fetch(`${site}/assets/app-1a2b3c4d.js`);
    expect(asset.status).toBe(200);
    expect(await asset.text()).toContain("parley");
    expect(asset.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expectSecurityHeaders(asset);

    const map = await fetch(`${site}/assets/app-1a2b3c4d.js.map`);
    expect(map.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    // a name without a content hash may change in place: revalidate
    const unhashed = await fetch(`${site}/assets/my-component.js`);
    expect(unhashed.status).toBe(200);
    expect(unhashed.headers.get("cache-control")).toBe("no-cache");

    const plain = await fetch(`${site}/robots.txt`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("cache-control")).toBe("no-cache");

    const deep = await fetch(`${site}/conversations/abc`, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain("<title>Parley</title>");
    expect(deep.headers.get("cache-control")).toBe("no-cache");

    const missingAsset = await fetch(`${site}/assets/nope-12345678.js`);
    expect(missingAsset.status).toBe(404);
    expect(((await missingAsset.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expectSecurityHeaders(missingAsset);
  });

  test("without a build, a plain notice page instead of a crash", async () => {
    const res = await fetch(`${bare}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("not built");
    expectSecurityHeaders(res);
    expect((await fetch(`${bare}/healthz`)).status).toBe(200);
  });

  test("metrics and readiness are not served on the web port, only on OPS_PORT (defect 12)", async () => {
    const live = await fetch(`${site}/healthz`);
    expect(live.status).toBe(200);
    expectSecurityHeaders(live);
    for (const path of ["/metrics", "/readyz"]) {
      const res = await fetch(`${site}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(await res.text()).not.toContain("realtime_");
      // a browser asking for a page gets the app, never the data
      const page = await fetch(`${site}${path}`, { headers: { accept: "text/html" } });
      expect(await page.text()).not.toContain("realtime_open_sockets");
    }
    const ready = await fetch(`${opsOf(site)}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { redis: "up" } });
    const metrics = await (await fetch(`${opsOf(site)}/metrics`)).text();
    for (const name of [
      "realtime_open_sockets",
      "realtime_connected_users",
      "realtime_fanout_latency_seconds",
      "realtime_redis_subscribed_channels",
      "realtime_slow_client_closes_total",
    ]) {
      expect(metrics).toContain(name);
    }
  });
});

describe("/api proxy", () => {
  test("keeps method, path, query, body, status and every Set-Cookie; adds X-Forwarded-*; drops hop-by-hop", async () => {
    const res = await fetch(`${site}/api/echo?x=1&y=2`, {
      method: "POST",
      headers: {
        authorization: "Bearer t0ken",
        "content-type": "application/json",
        "keep-alive": "timeout=5",
        "x-forwarded-proto": "https",
      },
      body: JSON.stringify({ hello: "world" }),
    });
    expect(res.status).toBe(418);
    expect(res.headers.getSetCookie()).toEqual(["session=abc; HttpOnly; Path=/; SameSite=Lax", "theme=dark; Path=/"]);
    expectSecurityHeaders(res);
    const echo = (await res.json()) as {
      method: string;
      path: string;
      search: string;
      body: string;
      seen: Record<string, string | null>;
    };
    expect(echo).toMatchObject({
      method: "POST",
      path: "/api/echo",
      search: "?x=1&y=2",
      body: JSON.stringify({ hello: "world" }),
    });
    expect(echo.seen["x-forwarded-for"]).toBe("127.0.0.1");
    expect(echo.seen["x-forwarded-proto"]).toBe("https");
    expect(echo.seen["x-forwarded-host"]).toBe(new URL(site).host);
    expect(echo.seen.authorization).toBe("Bearer t0ken");
    expect(echo.seen["keep-alive"]).toBeNull();
  });

  test(`reads wait their turn (at most ${PROXY_READS_AT_ONCE} at the api at once); a write meanwhile goes out at once; a catch-up read lets others go first`, async () => {
    // 300 catch-up reads the api does not answer yet, each on its own connection (raw HTTP: this
    // process's own fetch would queue them before they left)
    const { port } = new URL(site);
    const sockets = await Promise.all(
      Array.from({ length: 300 }, () =>
        Bun.connect({
          hostname: "127.0.0.1",
          port: Number(port),
          socket: { data() {} },
        }),
      ),
    );
    for (const s of sockets)
      s.write(`GET /api/held HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${BACKGROUND_READ_HEADER}: 1\r\n\r\n`);
    try {
      await waitFor("the reads to reach the api", () => held >= PROXY_READS_AT_ONCE, 20_000);
      // a send now: it does not wait for any of them
      const res = await fetch(`${site}/api/echo`, { method: "POST", body: "{}" });
      expect(res.status).toBe(418);
      expect(held).toBe(PROXY_READS_AT_ONCE);
      // a read someone waits for, behind the 172 waiting catch-ups: the first place that frees is its
      const waiting = async () =>
        Number(
          (await (await fetch(`${opsOf(site)}/metrics`)).text()).match(
            /^realtime_proxy_reads_waiting\{[^}]*\} (\d+)/m,
          )?.[1],
        );
      await waitFor("the catch-ups waiting", async () => (await waiting()) === 300 - PROXY_READS_AT_ONCE);
      const probe = fetch(`${site}/api/probe`);
      await waitFor("the probe waiting too", async () => (await waiting()) === 301 - PROXY_READS_AT_ONCE);
      release.resolve();
      expect((await probe).status).toBe(200);
      expect(arrivals.indexOf("/api/probe")).toBe(PROXY_READS_AT_ONCE);
    } finally {
      release.resolve();
      for (const s of sockets) s.end();
    }
  });

  test("streams the answer through (the first chunk arrives before the upstream finished)", async () => {
    const res = await fetch(`${site}/api/stream`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await Promise.race([reader.read(), Bun.sleep(5000).then(() => null)]);
    expect(first && new TextDecoder().decode(first.value)).toBe("chunk0\n");
    firstChunkSeen.resolve();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
    expect(rest).toBe("chunk1\n");
  });

  test("an unreachable api is 503 unavailable in the contract's shape", async () => {
    const res = await fetch(`${noApi}/api/me`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unavailable");
  });
});
