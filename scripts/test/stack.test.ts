/** startStack never leaves processes behind when the stack fails to become ready. */
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
    expect(String(error)).toContain(`api /readyz on port ${apiPort}`);
    // the api process was started (it listened) and has been stopped again
    expect(await isPortFree(apiPort)).toBe(true);
  } finally {
    rmSync(logs, { recursive: true, force: true });
  }
}, 30_000);
