/** startStack never leaves processes behind when the stack fails to become ready, and says why. */
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, isPortFree } from "../lib/ports.ts";
import { startStack } from "../lib/stack.ts";

test("a stack whose api never gets ready is stopped before the error reaches the caller", async () => {
  const logs = mkdtempSync(join(tmpdir(), "parley-stack-"));
  try {
    const [apiPort, deadMongo, deadRedis] = [await freePort(), await freePort(), await freePort()];
    const error = await startStack({
      // nothing listens on these: the api starts but /readyz never says ready
      mongoUrl: `mongodb://127.0.0.1:${deadMongo}/parley`,
      redisUrl: `redis://127.0.0.1:${deadRedis}`,
      jwtSecret: "stack-test-secret-0123456789abcdefghij",
      apiPort,
      replicas: 1,
      logs,
      readyTimeoutMs: 3000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain(`timed out after 3000 ms waiting for api http://127.0.0.1:${apiPort}/readyz`);
    // the error carries the end of the api's log, saying why
    expect(String(error)).toContain("mongo not reachable yet");
    // the api process was started (it listened) and has been stopped again
    expect(await isPortFree(apiPort)).toBe(true);
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}, 30_000);

test("a process that exits while starting fails the start at once, with the end of its log", async () => {
  const logs = mkdtempSync(join(tmpdir(), "parley-stack-"));
  try {
    const started = Date.now();
    const error = await startStack({
      mongoUrl: "mongodb://127.0.0.1:1/parley",
      redisUrl: "redis://127.0.0.1:1",
      // refused by the api's config check: it exits at once
      jwtSecret: "short",
      replicas: 0,
      logs,
      readyTimeoutMs: 20_000,
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/api exited \(1\) before http:\/\/127\.0\.0\.1:\d+\/readyz answered/);
    expect(String(error)).toContain("JWT_SECRET");
    expect(Date.now() - started).toBeLessThan(20_000);
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}, 30_000);
