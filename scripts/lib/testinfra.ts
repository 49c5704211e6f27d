/**
 * Throwaway Redis + MongoDB-compatible server on free ports with data in a temp folder, for
 * tests and benchmarks. Never touches the data of a running `npm start`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMongoCompatible, startRedis, stopAll, type Child } from "./infra.ts";
import { freePort } from "./ports.ts";

export type TestInfra = {
  mongoUrl: string;
  redisUrl: string;
  redisPort: number;
  mongoKind: string;
  dir: string;
  children: Child[];
  stop(): Promise<void>;
};

export async function startTestInfra(): Promise<TestInfra> {
  const dir = mkdtempSync(join(tmpdir(), "parley-test-"));
  const [redisPort, mongoPort] = [await freePort(), await freePort()];
  const children: Child[] = [];
  let mongoUrl = process.env.MONGO_URL ?? "";
  let mongoKind = "external";
  children.push(
    await startRedis({ port: redisPort, dataDir: join(dir, "redis"), persist: false, logFile: join(dir, "redis.log") }),
  );
  if (!mongoUrl) {
    const m = await startMongoCompatible({
      port: mongoPort,
      dataDir: join(dir, "mongo"),
      logFile: join(dir, "mongo.log"),
    });
    children.push(m);
    mongoKind = m.kind;
    mongoUrl = `mongodb://127.0.0.1:${mongoPort}/`;
  }
  return {
    mongoUrl,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    redisPort,
    mongoKind,
    dir,
    children,
    async stop() {
      await stopAll(children);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
