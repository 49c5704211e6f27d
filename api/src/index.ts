/** The api process: configuration, dependencies and app, then kit's listen-or-exit and graceful stop. */
import { serve } from "@parley/kit/serve";
import { buildApp, openDeps } from "./app.ts";
import { loadConfig } from "./config.ts";

await serve("api", loadConfig, (config, log) => {
  const deps = openDeps(config, log);
  const app = buildApp(deps);
  return {
    app,
    async stop() {
      // stop accepting, let in-flight requests finish, then close the connections they used
      await app.server?.stop(false);
      await deps.close();
    },
    abandon: () => deps.close(),
    graceMs: 15_000,
  };
});
