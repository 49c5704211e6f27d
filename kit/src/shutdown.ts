/**
 * Graceful stop on SIGTERM/SIGINT: run the given steps once, in order, then exit. A second
 * signal, or a stop that takes longer than `graceMs`, exits at once.
 */
import type { Logger } from "./log.ts";

export function onShutdown(log: Logger, graceMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      log.error({ graceMs }, "shutdown took too long, exiting");
      process.exit(1);
    }, graceMs);
    stop()
      .then(() => {
        clearTimeout(timer);
        log.info("stopped");
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err: String(err) }, "error while stopping");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
}
