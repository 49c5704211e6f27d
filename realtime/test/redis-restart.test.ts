/**
 * Redis goes away and comes back on the same port: /readyz says 503 meanwhile; once the
 * subscriber is back, realtime (same process, not restarted) closes its sockets with 1012
 * "resync" so clients catch up over REST, and new sockets get `ready` and live delivery again.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { CLOSE_CODES } from "@parley/contract/limits";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageFrame } from "@parley/contract/frames";
import { startRedis, type Child } from "../../scripts/lib/infra.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { openSocket, type TestSocket } from "./helpers/socket.ts";
import { createConversation, isOnline, register, sendMessage, startTestStack } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let redis: Child;
let redisPort: number;
const dir = mkdtempSync(join(tmpdir(), "parley-rt-redis-"));
const sockets: TestSocket[] = [];

const startOwnRedis = () =>
  startRedis({ port: redisPort, dataDir: dir, persist: false, logFile: join(dir, `redis-${Date.now()}.log`) });
const readyStatus = async (url: string) => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).status;

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startOwnRedis();
  stack = await startTestStack("redis", { redisUrl: `redis://127.0.0.1:${redisPort}` });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
  if (redis?.proc.exitCode === null) redis.proc.kill("SIGKILL");
});

describe("Redis restart", () => {
  test("readyz reports the outage; afterwards the sockets are closed with 1012 and new sockets get live delivery", async () => {
    const [r1, r2] = stack.realtimeUrls as [string, string];
    const [o1, o2] = stack.realtimeOpsUrls as [string, string];
    const pids = stack.children.filter((c) => c.name.startsWith("realtime")).map((c) => c.proc.pid);
    const [alice, bob] = [await register(r1, "ralice"), await register(r1, "rbob")];
    const conv = await createConversation(r1, alice, [bob]);
    const a = await openSocket(r1, { token: alice.token });
    const b = await openSocket(r2, { token: bob.token });
    sockets.push(a, b);
    const isMsg = (seq: number) => (f: { type: string }) =>
      f.type === "message" && (f as MessageFrame).message.seq === seq;

    await sendMessage(r1, alice, conv.id, "before");
    await a.next(isMsg(1));
    await b.next(isMsg(1));

    redis.proc.kill("SIGTERM");
    await redis.proc.exited;
    for (const url of [o1, o2]) await waitFor(`${url} /readyz 503`, async () => (await readyStatus(url)) === 503);
    const body = (await (await fetch(`${o1}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks.redis).toBe("down");

    redis = await startOwnRedis();
    for (const url of [o1, o2, stack.apiUrl])
      await waitFor(`${url} /readyz 200`, async () => (await readyStatus(url)) === 200, 30_000);

    // what was published during the outage is lost: the sockets are closed so clients resync
    const resync = { code: CLOSE_CODES.serviceRestart, reason: "resync" };
    expect(await a.closed).toEqual(resync);
    expect(await b.closed).toEqual(resync);
    // exactly one `ready` on each old socket (no second one on reconnect)
    expect(a.of("ready").length).toBe(1);
    expect(b.of("ready").length).toBe(1);

    // realtime was not restarted
    expect(stack.children.filter((c) => c.name.startsWith("realtime")).map((c) => c.proc.pid)).toEqual(pids);
    for (const c of stack.children) expect(c.proc.exitCode).toBeNull();

    const a2 = await openSocket(r1, { token: alice.token });
    const b2 = await openSocket(r2, { token: bob.token });
    sockets.push(a2, b2);
    // openSocket waited for `ready` on each new socket
    expect(a2.of("ready").length).toBe(1);
    expect(b2.of("ready").length).toBe(1);
    const after = await sendMessage(r2, bob, conv.id, "after");
    await a2.next(isMsg(after.seq));
    await b2.next(isMsg(after.seq));
    expect(a2.of("message").map((f) => f.message.body)).toEqual(["after"]);

    // the restarted Redis is empty: the new sockets / heartbeat put both users back online
    await waitFor(
      "alice and bob online again",
      async () => (await isOnline(r1, alice, bob)) === true && (await isOnline(r1, bob, alice)) === true,
      20_000,
    );

    const metrics = await (await fetch(`${o1}/metrics`)).text();
    const reconnects = [
      ...metrics.matchAll(/^realtime_redis_reconnects_total\{[^}]*connection="subscriber"[^}]*\} (\d+)/gm),
    ].map((m) => Number(m[1]));
    expect(reconnects[0]).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
