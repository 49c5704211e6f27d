/**
 * Channel subscriptions (pure logic, against a subscriber that records its commands): what is
 * asked in one turn of the event loop goes out as one command per kind, in the order asked, and
 * each caller hears when Redis confirmed its channel. Which channels are followed (a user's from
 * their first socket to their last, a contact's while watched) is LocalUsers' and tested with it;
 * the real Redis side is covered by the fan-out, presence and cluster tests.
 */
import { expect, test } from "bun:test";
import type { ChannelSubscriber } from "@parley/kit/pubsub";
import { createLogger } from "@parley/kit/log";
import { ChannelSubscriptions, SUBSCRIBE_BATCH_MAX } from "../src/fanout/subscriptions.ts";

function recorder() {
  const commands: [string, string[]][] = [];
  let confirm: () => void = () => undefined;
  const gate = () => new Promise<void>((resolve) => (confirm = resolve));
  let pending = Promise.resolve();
  const subscriber = {
    subscribeMany: async (channels: readonly string[]) => {
      commands.push(["subscribe", [...channels]]);
      await pending;
    },
    unsubscribeMany: async (channels: readonly string[]) => {
      commands.push(["unsubscribe", [...channels]]);
    },
  } as unknown as ChannelSubscriber;
  return {
    commands,
    subscriber,
    holdConfirmations() {
      pending = gate();
    },
    confirm: () => confirm(),
  };
}

const log = createLogger("test", "error");
const turn = () => new Promise((resolve) => setImmediate(resolve));

test("a burst of channels asked in one turn is one SUBSCRIBE, confirmed to every caller", async () => {
  const r = recorder();
  const subs = new ChannelSubscriptions(r.subscriber, log);
  r.holdConfirmations();
  let confirmed = 0;
  const waits = Array.from({ length: 120 }, (_, i) => subs.acquire(`c${i}`).then(() => confirmed++));
  await turn();
  expect(r.commands).toEqual([["subscribe", Array.from({ length: 120 }, (_, i) => `c${i}`)]]);
  expect(confirmed).toBe(0);
  r.confirm();
  await Promise.all(waits);
  expect(confirmed).toBe(120);
});

test("subscribes and unsubscribes asked in one turn go out in the order asked", async () => {
  const r = recorder();
  const subs = new ChannelSubscriptions(r.subscriber, log);
  void subs.acquire("a");
  void subs.acquire("b");
  subs.release("a");
  void subs.acquire("a");
  void subs.acquire("c");
  await turn();
  expect(r.commands).toEqual([
    ["subscribe", ["a", "b"]],
    ["unsubscribe", ["a"]],
    ["subscribe", ["a", "c"]],
  ]);
});

test(`at most ${SUBSCRIBE_BATCH_MAX} channels per command`, async () => {
  const r = recorder();
  const subs = new ChannelSubscriptions(r.subscriber, log);
  await Promise.all(Array.from({ length: SUBSCRIBE_BATCH_MAX + 1 }, (_, i) => subs.acquire(`c${i}`)));
  expect(r.commands.map(([kind, channels]) => [kind, channels.length])).toEqual([
    ["subscribe", SUBSCRIBE_BATCH_MAX],
    ["subscribe", 1],
  ]);
});

test("a failed SUBSCRIBE is logged and still settles its callers (they are not left waiting)", async () => {
  const subscriber = {
    subscribeMany: async () => {
      throw new Error("connection lost");
    },
    unsubscribeMany: async () => undefined,
  } as unknown as ChannelSubscriber;
  const subs = new ChannelSubscriptions(subscriber, log);
  await expect(subs.acquire("x")).resolves.toBeUndefined();
});
