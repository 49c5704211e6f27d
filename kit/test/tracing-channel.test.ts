/**
 * kit/tracing-channel: the `hasSubscribers` getter Node defines on TracingChannel, where Bun
 * lacks it (ioredis traces every command unless it says false).
 */
import { expect, test } from "bun:test";
import dc from "node:diagnostics_channel";
import "../src/tracing-channel.ts";

test("a tracing channel says whether any of its five channels has a subscriber", () => {
  const channel = dc.tracingChannel(`kit-test:${crypto.randomUUID()}`);
  expect(channel.hasSubscribers).toBe(false);
  for (const which of ["start", "end", "asyncStart", "asyncEnd", "error"] as const) {
    const handler = () => undefined;
    channel.subscribe({ [which]: handler });
    expect(channel.hasSubscribers).toBe(true);
    channel.unsubscribe({ [which]: handler });
    expect(channel.hasSubscribers).toBe(false);
  }
});

test("ioredis' channel reads false while nobody listens (so it skips tracing)", () => {
  expect(dc.tracingChannel("ioredis:command").hasSubscribers).toBe(false);
});
