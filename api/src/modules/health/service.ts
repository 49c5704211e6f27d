import { readinessReport } from "@parley/kit/health";
import { redisReady } from "@parley/kit/redis";
import type { Deps } from "../../libs/deps.ts";

export async function readiness({ db, redis }: Pick<Deps, "db" | "redis">) {
  const [mongo, cache] = await Promise.all([db.ready(), redisReady(redis)]);
  return readinessReport({ mongo, redis: cache });
}
