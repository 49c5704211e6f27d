/** The api process: configuration, dependencies, app, listen, graceful stop. */
import { exitOnConfigError } from "@parley/kit/env";
import { createLogger } from "@parley/kit/log";
import { onShutdown } from "@parley/kit/shutdown";
import { loadConfig, type Config } from "./config.ts";
import { buildApp, openDeps } from "./app.ts";

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  exitOnConfigError(err);
}
const log = createLogger("api", config.logLevel);
const deps = openDeps(config, log);
const app = buildApp(deps);

try {
  app.listen({ port: config.port, hostname: config.host, reusePort: false });
} catch (err) {
  log.fatal({ port: config.port, err: (err as Error).message }, `cannot listen on port ${config.port}`);
  process.stderr.write(`api: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
  await deps.close();
  process.exit(1);
}
log.info({ port: app.server?.port, host: config.host }, "api listening");

onShutdown(log, 15_000, async () => {
  // stop accepting, let in-flight requests finish, then close the connections they used
  await app.server?.stop(false);
  await deps.close();
});
