/** The client's address for rate limiting: the socket peer, or the first X-Forwarded-For entry behind a trusted proxy. */
import type { Config } from "../config.ts";

type ServerLike = { requestIP(req: Request): { address: string } | null } | null;

export function clientAddress(config: Config, request: Request, server: ServerLike, headers: Record<string, string | undefined>): string {
  if (config.trustProxy) {
    const first = headers["x-forwarded-for"]?.split(",")[0]?.trim();
    if (first) return first;
  }
  return server?.requestIP(request)?.address ?? "unknown";
}
