/**
 * Routing an event to replicas (kit/route) on a real Redis server: the presence scripts keep
 * each user's route (the replicas holding their sockets), a publisher reads the recipients'
 * routes and publishes one message per replica, naming that replica's recipients; realtime reads
 * it back with contract's readRoutedEvent.
 */
import { afterAll, expect, test } from "bun:test";
import Redis from "ioredis";
import { encodeFanoutEvent, presenceKeys, readRoutedEvent, replicaChannel } from "@parley/contract/frames";
import { createLogger } from "@parley/kit/log";
import { EventRouter } from "@parley/kit/route";
import { PresenceRegistry } from "../src/presence/registry.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { testRedisUrl } from "./helpers/env.ts";

const commands = new Redis(testRedisUrl);
const listener = new Redis(testRedisUrl);
afterAll(async () => {
  await Promise.allSettled([commands.quit(), listener.quit()]);
});

const name = (what: string) => `${what}-${crypto.randomUUID()}`;
const router = new EventRouter(commands);
const log = createLogger("route-test", "silent");

/** Messages per channel, as realtime's subscriber gets them. */
const heard = new Map<string, string[]>();
listener.on("message", (channel: string, text: string) => {
  heard.set(channel, [...(heard.get(channel) ?? []), text]);
});
const heardOn = (replica: string) => (heard.get(replicaChannel(replica)) ?? []).map(readRoutedEvent);

test("the presence scripts keep a user's route: every replica with an entry, until it leaves or is swept", async () => {
  const [r1, r2] = [name("r1"), name("r2")];
  const [one, two] = [new PresenceRegistry(commands, r1, log), new PresenceRegistry(commands, r2, log)];
  const user = name("user");
  const route = () => commands.get(presenceKeys.route(user));
  await one.userArrived(user);
  expect(await route()).toBe(r1);
  await two.userArrived(user);
  expect((await route())?.split(",").sort()).toEqual([r1, r2].sort());
  await one.userLeft(user);
  expect(await route()).toBe(r2);
  // r2 stops refreshing (crashed): once its entry expired, a sweep removes it from the route too
  await commands.zadd(presenceKeys.user(user), Date.now() - 1, r2);
  await commands.zadd(presenceKeys.deadlines, Date.now() - 1, `${user}|${r2}`);
  await one.sweep();
  expect(await route()).toBeNull();
  expect(await commands.pttl(presenceKeys.route(user))).toBe(-2);
});

test("one message per replica holding a recipient, naming its recipients; none for a user on no replica", async () => {
  expect(router.byReplica).toBe(true);
  const [r1, r2] = [name("r1"), name("r2")];
  const [alice, bob, carol] = [name("alice"), name("bob"), name("carol")];
  await commands.set(presenceKeys.route(alice), r1);
  await commands.set(presenceKeys.route(bob), `${r1},${r2}`);
  await listener.subscribe(replicaChannel(r1), replicaChannel(r2));

  const event = encodeFanoutEvent({ type: "typing", conversationId: "c", userId: "d" }, Date.now());
  const other = encodeFanoutEvent({ type: "read", conversationId: "c", userId: "e", seq: 3 }, Date.now());
  const { errors } = await router.publish([
    { userIds: [alice, bob, carol], payload: event },
    { userIds: [carol], payload: other }, // nobody online: nothing published
    { userIds: [bob], payload: other },
  ]);
  expect(errors).toEqual([null, null, null]);
  await waitFor("both replicas heard both", () => heardOn(r1).length === 2 && heardOn(r2).length === 2);
  // in the order published, each naming that replica's recipients
  expect(heardOn(r1)).toEqual([
    { userIds: [alice, bob], event },
    { userIds: [bob], event: other },
  ]);
  expect(heardOn(r2)).toEqual([
    { userIds: [bob], event },
    { userIds: [bob], event: other },
  ]);
});

test("other commands ride in the first round trip, and their replies come back", async () => {
  const counter = name("counter");
  const { errors, first } = await router.publish([{ userIds: [name("nobody")], payload: "{}" }], (pipe) =>
    pipe.add(counter, (p) => p.incr(counter)),
  );
  expect(errors).toEqual([null]);
  expect(first).toEqual([[null, 1]]);
});

test("a publish Redis refuses is reported for its event alone", async () => {
  // a connection whose user may not PUBLISH (as a failing Redis would refuse)
  const user = name("route-test");
  await commands.call("ACL", "SETUSER", user, "on", ">route-test-password", "~*", "&*", "+@all", "-publish");
  const limited = new Redis(testRedisUrl, { username: user, password: "route-test-password" });
  try {
    const r = name("r");
    const online = name("online");
    await commands.set(presenceKeys.route(online), r);
    const { errors } = await new EventRouter(limited).publish([
      { userIds: [name("offline")], payload: "{}" },
      { userIds: [online], payload: "{}" },
    ]);
    expect(errors[0]).toBeNull(); // nobody to publish to: nothing refused
    expect(errors[1]?.message).toContain("publish");
  } finally {
    limited.disconnect();
    await commands.call("ACL", "DELUSER", user);
  }
});

test("a routed message read back: recipients and the event text; malformed ones are null", () => {
  expect(readRoutedEvent('a,b\n{"x":1}')).toEqual({ userIds: ["a", "b"], event: '{"x":1}' });
  expect(readRoutedEvent('{"x":1}')).toBeNull();
  expect(readRoutedEvent('\n{"x":1}')).toBeNull();
});
