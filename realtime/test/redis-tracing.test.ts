/**
 * With kit/tracing-channel loaded (kit/redis loads it), ioredis still traces every command for an
 * APM that subscribes to its channel, on a real Redis; with nobody subscribed the getter says false.
 */
import { afterAll, expect, test } from "bun:test";
import dc from "node:diagnostics_channel";
import { connectRedis } from "@parley/kit/redis";
import { createLogger } from "@parley/kit/log";
import { waitFor } from "../../scripts/lib/ports.ts";
import { testRedisUrl } from "./helpers/env.ts";

const redis = connectRedis(testRedisUrl, createLogger("tracing-test", "silent"), "tracing-test");
afterAll(() => redis.disconnect());

test("a subscriber to ioredis:command sees each command start and finish; none once it leaves", async () => {
  const channel = dc.tracingChannel("ioredis:command");
  const seen: string[] = [];
  const handlers = {
    start: (ctx: unknown) => seen.push(`start ${(ctx as { command: string }).command}`),
    asyncEnd: (ctx: unknown) => seen.push(`end ${(ctx as { command: string }).command}`),
  };
  await redis.ping(); // connected (its ready check would be traced too)
  expect(channel.hasSubscribers).toBe(false);
  channel.subscribe(handlers);
  try {
    expect(channel.hasSubscribers).toBe(true);
    await redis.set(`tracing-test:${crypto.randomUUID()}`, "1", "EX", 60);
    // asyncEnd may come a turn after the reply
    await waitFor("the command's end traced", () => seen.length === 2, 2000);
    expect(seen).toEqual(["start set", "end set"]);
  } finally {
    channel.unsubscribe(handlers);
  }
  expect(channel.hasSubscribers).toBe(false);
  await redis.ping();
  await Bun.sleep(20);
  expect(seen).toHaveLength(2);
});
