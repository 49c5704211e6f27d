/**
 * The api's database connection across restarts of the database server (its own FerretDB,
 * stopped and started again with traffic in flight, several times). Found by the long fault
 * run: an operation waiting for a pooled connection when the server went away could wait
 * forever (the driver's wait queue has no limit by default), so after a restart or two every
 * send hung and the api never served again although it pinged fine; in another run the
 * driver's monitor hung and every operation failed server selection for minutes. Every
 * operation must settle (stored, or an error the api answers 503 with), and writes must flow
 * and the connection be ready again after each restart.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@parley/kit/log";
import { connectDb, isDbUnavailable } from "../api/src/libs/db.ts";
import { type MongoCompatible, startMongoCompatible } from "../scripts/lib/infra.ts";
import { freePort, waitFor } from "../scripts/lib/ports.ts";
import { stopAll } from "../scripts/lib/system.ts";

const dir = mkdtempSync(join(tmpdir(), "parley-db-restart-"));
// searchable (not listable) by others: PostgreSQL runs as its own account under root
chmodSync(dir, 0o711);
let server: MongoCompatible | undefined;
afterAll(async () => {
  await stopAll(server?.children ?? []);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

test("operations in flight when the database restarts all settle, and writes flow after every restart", async () => {
  server = await startMongoCompatible({ port: await freePort(), dataRoot: dir });
  const db = connectDb(`${server.url}db_restart`, createLogger("db-restart-test", "silent"));
  await waitFor("the database ready", () => db.ready(), 30_000);

  const counts = { stored: 0, unavailable: 0, other: [] as string[] };
  let inFlight = 0;
  let running = true;
  let n = 0;
  const insert = async () => {
    inFlight++;
    try {
      await db.Meta.collection.insertOne({ _id: `doc-${n++}`, v: 1 } as never);
      counts.stored++;
    } catch (err) {
      if (isDbUnavailable(err)) counts.unavailable++;
      else counts.other.push((err as Error).message);
    } finally {
      inFlight--;
    }
  };
  // eight writers at a time, like a busy api
  const load = (async () => {
    while (running) {
      await Promise.all(Array.from({ length: 8 }, insert));
      await Bun.sleep(5);
    }
  })();

  try {
    for (let restart = 1; restart <= 5; restart++) {
      await Bun.sleep(1000);
      await server.outage.stop();
      await Bun.sleep(3000);
      await server.outage.start();
      const before = counts.stored;
      await waitFor(`writes stored again after restart ${restart}`, () => counts.stored > before + 50, 30_000);
      await waitFor(`the connection ready again after restart ${restart}`, () => db.ready(), 30_000);
    }
  } finally {
    running = false;
  }
  await waitFor("every operation settled", () => inFlight === 0, 30_000);
  await load;
  expect(counts.other).toEqual([]);
  // the restarts were met by writes in flight, answered as "unavailable" (503 in the api)
  expect(counts.unavailable).toBeGreaterThan(0);
  await db.close();
}, 240_000);
