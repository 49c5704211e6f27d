/** realtime: composes the app from config and connections, then kit's listen-or-exit and graceful stop. */
import { serve } from "@parley/kit/serve";
import { buildRealtime } from "./app.ts";
import { loadConfig } from "./config.ts";
import { createRealtimeMetrics } from "./libs/metrics.ts";
import { connectRedisPair } from "./libs/redis.ts";
import { redisTarget } from "@parley/kit/redis";

await serve("realtime", loadConfig, async (config, log) => {
  const metrics = createRealtimeMetrics();
  const redis = connectRedisPair(redisTarget(config), log, metrics, config.replicaId);
  const realtime = await buildRealtime({ config, log, metrics, redis });
  return {
    app: realtime.app,
    ops: { app: realtime.ops, port: config.opsPort, host: config.opsHost },
    start: () => realtime.start(),
    stop: () => realtime.shutdown(),
    abandon() {
      redis.commands.disconnect();
      redis.subscriber.disconnect();
    },
    graceMs: config.shutdownGraceMs,
    describe: { replica: config.replicaId, staticDir: config.staticDir },
  };
});
