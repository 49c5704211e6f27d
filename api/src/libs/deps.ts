/** What the modules are built from: one bundle, created by app.ts (or a test) and passed down. */
import type { Logger } from "@parley/kit/log";
import type { Config } from "../config.ts";
import type { Db } from "./db.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { Publisher } from "./publish.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { Redis } from "./redis.ts";

export type Deps = {
  config: Config;
  log: Logger;
  metrics: ApiMetrics;
  db: Db;
  redis: Redis;
  publisher: Publisher;
  limiter: RateLimiter;
};
