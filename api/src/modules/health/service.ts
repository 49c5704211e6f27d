import type { Deps } from "../../libs/deps.ts";
import { redisUp } from "../../libs/redis.ts";
import type { Readiness } from "./model.ts";

export async function readiness({ db, redis }: Pick<Deps, "db" | "redis">): Promise<{ ok: boolean; body: Readiness }> {
  const [mongo, cache] = await Promise.all([db.ready(), redisUp(redis)]);
  return { ok: mongo && cache, body: { mongo: mongo ? "up" : "down", redis: cache ? "up" : "down" } };
}
