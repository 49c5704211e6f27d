/**
 * LocalUsers and the typing relay with real Redis and a small HTTP server standing in for the
 * api, which answers 503 to the first `GET /api/conversations` and the full list afterwards: a
 * `conversation` frame that arrives while the load is failing must not stop the full list from
 * being fetched later.
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import type { ServerWebSocket } from "bun";
import Redis from "ioredis";
import { encodeFanoutEvent, presenceChannel, userChannel, type ServerFrame } from "@parley/contract/frames";
import { createLogger } from "@parley/kit/log";
import { LocalUsers } from "../src/fanout/local-users.ts";
import { MEMBERSHIP_RETRY_MS } from "../src/fanout/membership.ts";
import { Session } from "../src/fanout/session.ts";
import { ChannelSubscriptions } from "../src/fanout/subscriptions.ts";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";
import { PresenceRegistry } from "../src/presence/registry.ts";
import { TypingRelay } from "../src/socket/typing.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { testRedisUrl } from "./helpers/env.ts";

setDefaultTimeout(60_000);

const id = (name: string) => `${name}-${crypto.randomUUID()}`;
const [alice, bob, carol, dave] = [id("alice"), id("bob"), id("carol"), id("dave")];
const conv = (cid: string, members: string[]) => ({ id: cid, members: members.map((m) => ({ id: m })) });
const [c1, c2, c3] = [id("c1"), id("c2"), id("c3")];

let calls = 0;
const api = Bun.serve({
  port: 0,
  fetch(req) {
    if (new URL(req.url).pathname !== "/api/conversations") return new Response("no", { status: 404 });
    calls++;
    if (calls === 1) return Response.json({ error: { code: "unavailable", message: "down" } }, { status: 503 });
    return Response.json({ conversations: [conv(c1, [alice, bob]), conv(c2, [alice, carol])] });
  },
});

const commands = new Redis(testRedisUrl);
const subscriber = new Redis(testRedisUrl);
const log = createLogger("local-users-test", "silent");
const metrics = createRealtimeMetrics();
const subscriptions = new ChannelSubscriptions(subscriber, log, () => undefined);
const presence = new PresenceRegistry(commands, id("replica"), log);
const users = new LocalUsers({ apiUrl: `http://127.0.0.1:${api.port}`, subscriptions, presence, metrics, log });
const typing = new TypingRelay({ users, commands, log });

afterAll(async () => {
  api.stop(true);
  await Promise.allSettled([commands.quit(), subscriber.quit()]);
});

const fakeSocket = (frames: string[]) =>
  ({
    send: (t: string) => {
      frames.push(t);
      return t.length;
    },
    getBufferedAmount: () => 0,
    close: () => undefined,
  }) as unknown as ServerWebSocket<unknown>;

describe("LocalUsers membership", () => {
  test("a conversation frame during a failing load is kept, and the full list is still fetched later", async () => {
    const frames: string[] = [];
    const session = new Session(alice, fakeSocket(frames), metrics, undefined);
    await users.join(session, "token");
    expect(calls).toBe(1); // answered 503

    // a new conversation arrives over Redis while the user's list is not loaded
    const frame = { type: "conversation", conversation: conv(c3, [alice, dave]) } as unknown as ServerFrame;
    users.deliver(userChannel(alice), encodeFanoutEvent(frame, Date.now()));
    expect(await typing.relay(alice, c3)).toBe("ok");

    // after the retry interval the repair fetches the full list, merged with the frame's
    await Bun.sleep(MEMBERSHIP_RETRY_MS + 100);
    users.repairMemberships();
    await waitFor(
      "the contacts of the full list followed",
      () => subscriptions.has(presenceChannel(bob)) && subscriptions.has(presenceChannel(carol)),
      10_000,
    );
    expect(calls).toBe(2);
    expect(await typing.relay(alice, c1)).toBe("ok");
    expect(await typing.relay(alice, c2)).toBe("ok");
    expect(await typing.relay(alice, c3)).toBe("ok"); // the frame's conversation is kept
    for (const contact of [bob, carol, dave]) expect(subscriptions.has(presenceChannel(contact))).toBe(true);

    session.markClosed();
    users.leave(session);
  });
});

describe("group changes", () => {
  test("a line that a user left the group stops typing there reaching them; an older frame does not undo it", async () => {
    const frames: string[] = [];
    const session = new Session(bob, fakeSocket(frames), metrics, undefined);
    await users.join(session, "token");
    await waitFor("bob's conversations loaded", async () => (await typing.relay(bob, c1)) !== "not_member", 10_000);
    const deliver = (frame: unknown) =>
      users.deliver(userChannel(bob), encodeFanoutEvent(frame as ServerFrame, Date.now()));
    const typingIn = (cid: string) => ({ type: "typing", conversationId: cid, userId: alice });
    const line = (members: string[], rev: number) => ({
      type: "message",
      message: { conversationId: c1, kind: "system", system: { members: members.map((m) => ({ id: m })), rev } },
    });
    const typings = () => frames.filter((f) => f.includes('"typing"')).length;

    deliver(typingIn(c1));
    expect(typings()).toBe(1);
    deliver(line([alice], 3)); // bob left: he still gets his own line
    expect(frames.at(-1)).toContain('"system"');
    deliver(typingIn(c1)); // relayed by a replica that had not heard of it yet
    expect(typings()).toBe(1);
    expect(await typing.relay(bob, c1)).toBe("not_member");
    // a frame from before the line, arriving late, changes nothing
    deliver({ type: "conversation", conversation: { ...conv(c1, [alice, bob]), stateRev: 2 } });
    deliver(typingIn(c1));
    expect(typings()).toBe(1);
    // added again
    deliver(line([alice, bob], 4));
    deliver(typingIn(c1));
    expect(typings()).toBe(2);
    // a member again (what is left is the relay's own rate limit, from the wait above)
    expect(await typing.relay(bob, c1)).not.toBe("not_member");

    session.markClosed();
    users.leave(session);
  });
});
