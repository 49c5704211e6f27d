/**
 * Which user ids exist, as the auth plugin needs to know it on every request: a valid token of
 * a user that does not exist (a database restored from before the account, a deleted account,
 * a token made with the secret elsewhere) must be no session at all on every route.
 *
 * Accounts are never deleted by the product, so an id seen to exist is remembered for a while
 * (one read by _id per user and TTL per process, never one per request); an unknown id is
 * remembered briefly, so a stream of requests with such a token costs few reads too.
 */
import { oid, type Db } from "./db.ts";

export class KnownUsers {
  private readonly seen = new Map<string, { exists: boolean; expires: number }>();
  private readonly loading = new Map<string, Promise<boolean>>();

  constructor(
    private readonly db: Pick<Db, "User">,
    private readonly opts = { ttlMs: 10 * 60_000, unknownTtlMs: 10_000, maxEntries: 100_000 },
  ) {}

  async exists(userId: string): Promise<boolean> {
    const hit = this.seen.get(userId);
    if (hit && hit.expires > Date.now()) return hit.exists;
    let pending = this.loading.get(userId);
    if (!pending) {
      pending = this.db.User.exists({ _id: oid(userId) })
        .then((found) => {
          const exists = found !== null;
          if (this.seen.size >= this.opts.maxEntries) this.seen.clear();
          this.seen.set(userId, {
            exists,
            expires: Date.now() + (exists ? this.opts.ttlMs : this.opts.unknownTtlMs),
          });
          return exists;
        })
        .finally(() => this.loading.delete(userId));
      this.loading.set(userId, pending);
    }
    return pending;
  }
}
