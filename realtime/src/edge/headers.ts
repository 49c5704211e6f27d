/**
 * Security headers on every response realtime serves (pages, assets, proxied api answers,
 * errors), and the cache policy of the frontend files.
 */
import { Elysia } from "elysia";

/** Lit's `static styles` use adoptedStyleSheets (no inline <style>), but lit-html may still set
 * `style` attributes, so style-src keeps 'unsafe-inline'; scripts stay 'self' only. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Bundler output names carry a content hash (e.g. `main-ds61wee4.js`, `page-f25899fc4e.css`,
 * their `.map`): safe to cache forever. A hash has a digit, so `my-component.js` is not one. */
const HASHED_ASSET = /[.-](?=[a-z0-9]*\d)[a-z0-9]{8,16}\.(?:js|mjs|css|woff2?|png|svg|jpg|webp|ico)(?:\.map)?$/;
export const IMMUTABLE = "public, max-age=31536000, immutable";

export function cacheControlFor(path: string): string | undefined {
  if (path.startsWith("/api/") || path === "/ws") return undefined;
  return HASHED_ASSET.test(path) ? IMMUTABLE : "no-cache";
}

/** Over TLS, browsers are told to use nothing else for a year (sent only on https answers, as HSTS requires). */
export const HSTS = "max-age=31536000";

/** Whether the browser came over https: directly, or through a TLS-terminating proxy that says so. */
const overTls = (request: Request) =>
  new URL(request.url).protocol === "https:" ||
  request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";

export const securityHeaders = new Elysia({ name: "security-headers" }).onRequest(({ set, request }) => {
  Object.assign(set.headers, SECURITY_HEADERS);
  if (overTls(request)) set.headers["strict-transport-security"] = HSTS;
  const path = new URL(request.url).pathname;
  const cache = request.method === "GET" || request.method === "HEAD" ? cacheControlFor(path) : undefined;
  if (cache) set.headers["cache-control"] = cache;
});
