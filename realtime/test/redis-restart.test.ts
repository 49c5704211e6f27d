/**
 * Redis goes away and comes back on the same port: /readyz says 503 meanwhile, and delivery
 * resumes on the same sockets without restarting realtime (the subscriber re-subscribes).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageFrame } from "@parley/contract/frames";
import { startRedis, type Child } from "../../scripts/lib/infra.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { eventually, openSocket, type TestSocket } from "./helpers/socket.ts";
import { createConversation, isOnline, register, sendMessage, startTestStack } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let redis: Child;
let redisPort: number;
const dir = mkdtempSync(join(tmpdir(), "parley-rt-redis-"));
const sockets: TestSocket[] = [];

const startOwnRedis = () => startRedis({ port: redisPort, dataDir: dir, persist: false, logFile: join(dir, `redis-${Date.now()}.log`) });
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
  test("readyz reports the outage, and delivery resumes on the same sockets afterwards", async () => {
    const [r1, r2] = stack.realtimeUrls as [string, string];
    const [alice, bob] = [await register(r1, "ralice"), await register(r1, "rbob")];
    const conv = await createConversation(r1, alice, [bob]);
    const a = await openSocket(r1, { token: alice.token });
    const b = await openSocket(r2, { token: bob.token });
    sockets.push(a, b);
    const isMsg = (seq: number) => (f: { type: string }) => f.type === "message" && (f as MessageFrame).message.seq === seq;

    await sendMessage(r1, alice, conv.id, "before");
    await a.next(isMsg(1));
    await b.next(isMsg(1));

    redis.proc.kill("SIGTERM");
    await redis.proc.exited;
    for (const url of [r1, r2]) await eventually(`${url} /readyz 503`, async () => (await readyStatus(url)) === 503);
    const body = (await (await fetch(`${r1}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks.redisSubscriber).toBe("down");

    redis = await startOwnRedis();
    for (const url of [r1, r2, stack.apiUrl]) await eventually(`${url} /readyz 200`, async () => (await readyStatus(url)) === 200, 30_000);

    // the sockets stayed open through the outage
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    expect(b.ws.readyState).toBe(WebSocket.OPEN);
    const after = await sendMessage(r2, bob, conv.id, "after");
    await a.next(isMsg(after.seq));
    await b.next(isMsg(after.seq));
    expect(a.of("message").map((f) => f.message.body)).toEqual(["before", "after"]);

    // the restarted Redis is empty: the heartbeat puts both users back online
    await eventually("alice and bob online again", async () => (await isOnline(r1, alice, bob)) === true && (await isOnline(r1, bob, alice)) === true, 20_000);

    const metrics = await (await fetch(`${r1}/metrics`)).text();
    const reconnects = [...metrics.matchAll(/^realtime_redis_reconnects_total\{[^}]*connection="subscriber"[^}]*\} (\d+)/gm)].map((m) => Number(m[1]));
    expect(reconnects[0]).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
