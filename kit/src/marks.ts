/**
 * The server side of marks (contract/marks explains the rule and why it is exact). One `Marker`
 * per publishing process: it numbers the process's events and kit/route records, per
 * recipient, the newest number it published to them, in the round trip that reads their routes
 * and before that read. Realtime reads a user's marks for `ready` (`readMarks`).
 *
 * In Redis (one server only: on a Redis Cluster nothing is recorded and `ready` says null, so
 * clients catch up as before):
 * - `parley:marks:publishers`: sorted set, member = publisher id, score = when it last
 *   recorded (ms). Written in the same pipeline as every record, so a reader never misses a
 *   publisher whose marks exist, even right after Redis lost its data.
 * - `parley:marks:<publisher>`: hash, field = user id, value = the newest number. Given
 *   MARKS_TTL_MS to live (renewed every minute) so a dead process's marks go away.
 * Redis must not evict keys (`maxmemory-policy noeviction`, its default), as for routes.
 */
import { formatMark, MARKS_TTL_MS, type Marks } from "@parley/contract/marks";
import type { RedisClient } from "./redis.ts";
import { isCluster } from "./redis.ts";

export const MARKS_PUBLISHERS_KEY = "parley:marks:publishers";
export const marksKey = (publisher: string) => `parley:marks:${publisher}`;
const RENEW_MS = 60_000;

/** One process's numbering of the events it publishes. */
export class Marker {
  /** random per process: a restarted api is a new publisher, so numbers never repeat */
  readonly publisher = Buffer.from(crypto.getRandomValues(new Uint8Array(9))).toString("base64url");
  private n = 0;

  /** The next event's number and its mark (`<publisher>:<n>`), to put on its frame. */
  next(): { n: number; mark: string } {
    const n = ++this.n;
    return { n, mark: formatMark(this.publisher, n) };
  }

  /**
   * Renews the marks' lifetime now and every minute, and forgets publishers silent for longer
   * than it; returns a stop function. Redis errors are left to the next round.
   */
  keepAlive(redis: RedisClient): () => void {
    if (isCluster(redis)) return () => undefined;
    const renew = () => {
      const now = Date.now();
      redis
        .pipeline()
        .pexpire(marksKey(this.publisher), MARKS_TTL_MS)
        .zremrangebyscore(MARKS_PUBLISHERS_KEY, "-inf", now - MARKS_TTL_MS)
        .exec()
        .catch(() => undefined);
    };
    renew();
    const timer = setInterval(renew, RENEW_MS);
    timer.unref?.();
    return () => clearInterval(timer);
  }
}

/**
 * A user's marks as Redis holds them now, with its run id (one Lua step, so the run id and the
 * marks come from the same instance). Null on a cluster or when Redis failed: the client
 * catches up.
 */
const READ_MARKS = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local out = { run }
for _, p in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  local n = redis.call('HGET', ARGV[3] .. p, ARGV[1])
  if n then
    out[#out + 1] = p
    out[#out + 1] = n
  end
end
return out`;

type ScriptRunner = RedisClient & {
  readMarks?: (key: string, userId: string, since: number, prefix: string) => Promise<unknown>;
};

export async function readMarks(redis: RedisClient, userId: string): Promise<Marks | null> {
  if (isCluster(redis)) return null;
  const client = redis as ScriptRunner;
  if (!client.readMarks) client.defineCommand("readMarks", { numberOfKeys: 1, lua: READ_MARKS });
  try {
    const reply = (await client.readMarks!(
      MARKS_PUBLISHERS_KEY,
      userId,
      Date.now() - MARKS_TTL_MS,
      marksKey(""),
    )) as unknown[];
    const [epoch, ...pairs] = reply;
    if (typeof epoch !== "string" || !epoch) return null;
    const by: Record<string, number> = {};
    for (let i = 0; i + 1 < pairs.length; i += 2) by[String(pairs[i])] = Number(pairs[i + 1]);
    return { epoch, by };
  } catch {
    return null;
  }
}
