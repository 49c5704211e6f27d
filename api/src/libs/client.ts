/**
 * The client's address for rate limiting. Behind a trusted proxy (TRUST_PROXY=true) it is the
 * LAST X-Forwarded-For entry: the address our proxy itself saw. Earlier entries come from the
 * client and can be anything, so trusting the first one would let anyone pick a fresh address
 * per request and walk around the per-address login limit.
 */
import type { Config } from "../config.ts";

type ServerLike = { requestIP(req: Request): { address: string } | null } | null;

export function clientAddress(
  config: Config,
  request: Request,
  server: ServerLike,
  headers: Record<string, string | undefined>,
): string {
  if (config.trustProxy) {
    const last = headers["x-forwarded-for"]?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
