/** The api's one Redis connection (publishing, rate limits, presence reads). */
import type Redis from "ioredis";
import { connectRedis, redisReady } from "@parley/kit/redis";
import type { Logger } from "@parley/kit/log";

export type { Redis };

export function openRedis(url: string, log: Logger): Redis {
  return connectRedis(url, log, "api");
}

/** Ready and answering a PING within a second. */
export async function redisUp(redis: Redis): Promise<boolean> {
  if (!redisReady(redis)) return false;
  try {
    return (await Promise.race([redis.ping(), Bun.sleep(1000).then(() => "timeout")])) === "PONG";
  } catch {
    return false;
  }
}
