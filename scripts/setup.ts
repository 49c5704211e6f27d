/**
 * Installs what the product and its tests need on this machine and is missing: redis-server
 * (apt, when root), and unless mongod or MONGO_URL is there FerretDB (built from the Go module
 * proxy into .tools/bin) with PostgreSQL (apt) to keep its data in. `npm start` and `npm test`
 * call the same steps lazily; this runs them upfront.
 */
import { ensureMongoServer, ensureRedisServer } from "./lib/infra.ts";
import { ensurePostgres } from "./lib/postgres.ts";
import { embeddedEngine } from "./lib/testinfra.ts";

try {
  console.log(`redis-server: ${ensureRedisServer()}`);
  if (process.env.MONGO_URL) console.log("database: MONGO_URL is set; no local server needed");
  else {
    const m = ensureMongoServer();
    console.log(`database: ${m.kind} at ${m.bin}`);
    if (m.kind === "ferretdb" && embeddedEngine() === "postgresql") console.log(`postgresql: ${ensurePostgres()}`);
  }
} catch (err) {
  console.error(`setup: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
