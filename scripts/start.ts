/**
 * One command runs the whole product on this machine, no Docker: `npm start`.
 *
 * Starts Redis and a MongoDB-compatible server (MONGO_URL if given, else mongod, else FerretDB on
 * a PostgreSQL cluster of its own; EMBEDDED_DB=sqlite for FerretDB on SQLite)
 * with their data under .data/ (kept between runs), builds the frontend, then runs the api and
 * two realtime replicas. Ctrl-C stops every child. A port already in use is reported by name
 * before anything starts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { envReader, exitOnConfigError } from "../kit/src/env.ts";
import { EMBEDDED_DB_ENGINES, ROOT, startMongoCompatible, startRedis, stopAll } from "./lib/infra.ts";
import { isPortFree } from "./lib/ports.ts";
import { runningChildren } from "./lib/system.ts";
import { copySqliteData, sqliteDataToCopy } from "./lib/upgrade.ts";
import { BUN, startStack } from "./lib/stack.ts";

function readConfig() {
  const env = envReader();
  const webPort = env.port("WEB_PORT", 8080);
  const config = {
    dataDir: env.string("PARLEY_DATA_DIR", join(ROOT, ".data")),
    webPorts: [webPort, env.port("WEB_PORT_2", webPort + 1)],
    apiPort: env.port("API_PORT", 3000),
    opsPorts: [env.port("OPS_PORT", 9090), env.port("OPS_PORT_2", 9091)],
    redisPort: env.port("REDIS_PORT", 6380),
    mongoPort: env.port("MONGO_PORT", 27027),
    mongoUrl: env.optionalString("MONGO_URL"),
    embeddedDb: env.oneOf("EMBEDDED_DB", EMBEDDED_DB_ENGINES, "postgresql"),
    redisUrl: env.optionalString("REDIS_URL"),
  };
  env.done();
  return config;
}

/** The local JWT secret: generated once, kept in .data (git-ignored) so sessions survive restarts. */
function localJwtSecret(dataDir: string): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = join(dataDir, "jwt-secret");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

async function main() {
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig();
  } catch (err) {
    exitOnConfigError(err);
  }
  const wanted: [number, string][] = [
    [config.apiPort, "the api (API_PORT)"],
    [config.webPorts[0]!, "realtime replica 1 (WEB_PORT)"],
    [config.webPorts[1]!, "realtime replica 2 (WEB_PORT_2)"],
    [config.opsPorts[0]!, "realtime replica 1's health and metrics (OPS_PORT)"],
    [config.opsPorts[1]!, "realtime replica 2's health and metrics (OPS_PORT_2)"],
  ];
  if (!config.redisUrl) wanted.push([config.redisPort, "Redis (REDIS_PORT)"]);
  if (!config.mongoUrl) wanted.push([config.mongoPort, "the MongoDB-compatible server (MONGO_PORT)"]);
  const busy: string[] = [];
  for (const [port, what] of wanted)
    if (!(await isPortFree(port))) busy.push(`port ${port} for ${what} is already in use`);
  if (busy.length) {
    console.error(
      `Cannot start Parley:\n  - ${busy.join("\n  - ")}\nStop whatever uses it, or choose another port with the variable named.`,
    );
    process.exit(1);
  }

  const logs = join(config.dataDir, "logs");
  mkdirSync(logs, { recursive: true });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping Parley…");
    // Not only `children`: Ctrl-C can come in the middle of start-up, while the processes being
    // started are not handed back to us yet. Stop until nothing we spawned runs.
    for (let left = runningChildren(); left.length; left = runningChildren()) await stopAll(left);
    console.log("stopped.");
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));

  try {
    console.log("building the frontend…");
    const build = Bun.spawnSync([BUN, join(ROOT, "frontend/scripts/build.ts")], {
      stdout: "inherit",
      stderr: "inherit",
    });
    if (build.exitCode !== 0) throw new Error("the frontend build failed (see above)");

    const redisUrl = config.redisUrl ?? `redis://127.0.0.1:${config.redisPort}`;
    if (!config.redisUrl) {
      await startRedis({
        port: config.redisPort,
        dataDir: join(config.dataDir, "redis"),
        persist: true,
        logFile: join(logs, "redis.log"),
      });
    }
    let mongoUrl = config.mongoUrl;
    if (!mongoUrl) {
      const db = await startMongoCompatible({
        port: config.mongoPort,
        dataRoot: config.dataDir,
        engine: config.embeddedDb,
        logDir: logs,
      });
      mongoUrl = `${db.url}parley`;
      console.log(`database: ${db.kind} on port ${config.mongoPort}`);
      if (config.embeddedDb === "postgresql" && db.kind !== "mongod" && sqliteDataToCopy(config.dataDir)) {
        console.log("copying the data of the SQLite engine (.data/mongo, kept as it is) to PostgreSQL, once…");
        console.log(`copied ${await copySqliteData(config.dataDir, db.url, logs)} documents.`);
      }
    }
    const stack = await startStack({
      mongoUrl,
      redisUrl,
      jwtSecret: localJwtSecret(config.dataDir),
      apiPort: config.apiPort,
      realtimePorts: config.webPorts,
      realtimeOpsPorts: config.opsPorts,
      logs,
      staticDir: join(ROOT, "frontend/dist"),
      extraEnv: { NODE_ENV: "production" },
      // The browser reaches the api only through realtime's /api proxy: keep the api on loopback,
      // and let it take the client address from the proxy's X-Forwarded-For entry.
      apiEnv: { HOST: "127.0.0.1", TRUST_PROXY: "true" },
      // health, readiness and metrics stay on this machine
      realtimeEnv: { OPS_HOST: "127.0.0.1" },
    });
    for (const c of stack.children) {
      void c.proc.exited.then((code) => {
        if (!stopping) {
          console.error(`${c.name} exited unexpectedly (code ${code}); see ${join(logs, `${c.name}.log`)}`);
          void stop(1);
        }
      });
    }
    console.log(`
Parley is running.
  open:        http://localhost:${config.webPorts[0]}   (replica 1)
               http://localhost:${config.webPorts[1]}   (replica 2)
  api:         ${stack.apiUrl}/api (loopback only; OpenAPI: ${stack.apiUrl}/api/openapi.json)
  health:      ${stack.apiUrl}/readyz, ${stack.realtimeOpsUrls.map((u) => `${u}/readyz`).join(", ")}
  data:        ${config.dataDir}
  logs:        ${logs}
Press Ctrl-C to stop.`);
  } catch (err) {
    console.error(`Cannot start Parley: ${err instanceof Error ? err.message : String(err)}`);
    await stop(1);
  }
}

await main();
