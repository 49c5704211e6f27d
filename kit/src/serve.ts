/**
 * A server process's life, written once for every service: load the configuration (a bad one
 * exits 1 listing every problem), build the service, listen (a taken port exits 1 naming it,
 * after releasing what the build opened), then stop gracefully on SIGTERM/SIGINT.
 */
import type { ServerConfig } from "./config.ts";
import { exitOnConfigError } from "./env.ts";
import { createLogger, type Logger } from "./log.ts";
import { onShutdown } from "./shutdown.ts";

/** What `serve` needs of an Elysia app. */
type Listener = {
  listen(options: { port: number; hostname: string; reusePort: boolean }): unknown;
  server: { port?: number } | null;
};

export type Service = {
  app: Listener;
  /** a second listener for probes and metrics, on a port the edge does not expose */
  ops?: { app: Listener; port: number; host?: string };
  /** background work that starts once the port is ours (timers, heartbeats) */
  start?(): void;
  /** the graceful stop on SIGTERM/SIGINT */
  stop(): Promise<void>;
  /** listening failed: release what the build opened, so the process can exit */
  abandon(): Promise<void> | void;
  /** how long the graceful stop may take before the process exits anyway */
  graceMs: number;
  /** extra fields for the "listening" log line */
  describe?: Record<string, unknown>;
};

export async function serve<C extends ServerConfig>(
  name: string,
  loadConfig: () => C,
  build: (config: C, log: Logger) => Service | Promise<Service>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const log = createLogger(name, config.logLevel);
  const service = await build(config, log);
  const listeners = [{ app: service.app, port: config.port, host: config.host }, ...(service.ops ? [service.ops] : [])];
  for (const { app, port, host = config.host } of listeners) {
    try {
      // reusePort: false, so a port that is taken fails here instead of being silently shared
      app.listen({ port, hostname: host, reusePort: false });
    } catch (err) {
      const message = (err as Error).message;
      log.fatal({ port, err: message }, `cannot listen on port ${port}`);
      process.stderr.write(`${name}: cannot listen on ${host}:${port}: ${message}\n`);
      await service.abandon();
      process.exit(1);
    }
  }
  service.start?.();
  log.info(
    { port: service.app.server?.port, opsPort: service.ops?.app.server?.port, host: config.host, ...service.describe },
    `${name} listening`,
  );
  onShutdown(log, service.graceMs, () => service.stop());
}
