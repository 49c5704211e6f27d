/**
 * Who may open a socket: the Origin must be allowed (against cross-site WebSocket hijacking),
 * and a valid session token must come with the upgrade. Both are decided before upgrading, so
 * a refusal is a plain HTTP 403/401 with the contract's error body.
 */

const TOKEN_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The token and where it came from; the subprotocol form must be answered with "bearer". */
export type TokenSource = { token: string; via: "subprotocol" | "query" | "cookie" };

export function extractToken(
  headers: Record<string, string | undefined>,
  query: Record<string, string | undefined>,
  cookie: string | undefined,
): TokenSource | null {
  const protocols = (headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  if (protocols[0]?.toLowerCase() === "bearer" && protocols[1]) return { token: protocols[1], via: "subprotocol" };
  if (query.token) return { token: query.token, via: "query" };
  if (cookie) return { token: cookie, via: "cookie" };
  return null;
}

export const looksLikeJwt = (token: string) => token.length < 4096 && TOKEN_PATTERN.test(token);

/**
 * Origin policy. No Origin header = not a browser (browsers always send it on WebSocket
 * upgrades), so nothing to hijack: allowed. Otherwise the origin must name the same host as the
 * Host header, or be on ALLOWED_ORIGINS (which adds origins; it never takes the same origin
 * away). The scheme is ignored in the same-origin case because behind a TLS-terminating proxy
 * the browser says https while this process sees http.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[]): boolean {
  if (!origin) return true;
  const o = origin.replace(/\/+$/, "").toLowerCase();
  if (allowed.includes(o)) return true;
  if (!host) return false;
  try {
    const u = new URL(o);
    if (u.protocol !== "http:" && u.protocol !== "https:") return false;
    return u.host === host.toLowerCase() || stripDefaultPort(u.host) === stripDefaultPort(host.toLowerCase());
  } catch {
    return false;
  }
}

const stripDefaultPort = (host: string) => host.replace(/:(80|443)$/, "");
