/** realtime: composes the app from config and connections, listens, and stops cleanly. */
import { exitOnConfigError } from "@parley/kit/env";
import { createLogger } from "@parley/kit/log";
import { onShutdown } from "@parley/kit/shutdown";
import { buildRealtime } from "./app.ts";
import { loadConfig, type Config } from "./config.ts";
import { createRealtimeMetrics } from "./libs/metrics.ts";
import { connectRedisPair } from "./libs/redis.ts";

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  exitOnConfigError(err);
}

const log = createLogger("realtime", config.logLevel);
const metrics = createRealtimeMetrics();
const redis = connectRedisPair(config.redisUrl, log, metrics, config.replicaId);
const realtime = await buildRealtime({ config, log, metrics, redis });

try {
  // reusePort: false, so a port that is taken fails here instead of silently sharing it
  realtime.app.listen({ port: config.port, hostname: config.host, reusePort: false });
} catch (err) {
  log.fatal({ port: config.port, err: (err as Error).message }, "cannot listen");
  process.stderr.write(`realtime: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
  redis.commands.disconnect();
  redis.subscriber.disconnect();
  process.exit(1);
}
realtime.start();
log.info({ port: config.port, replica: config.replicaId, staticDir: config.staticDir }, "realtime listening");

onShutdown(log, config.shutdownGraceMs, () => realtime.shutdown());
