/**
 * LocalUsers with real Redis and a small HTTP server standing in for the api: a user's contacts
 * come from one page of their conversations (retried when the api failed), and membership is
 * asked per conversation, kept, learnt from `conversation` frames and system lines (the newest
 * version wins), and bounded per user. The stand-in api checks the token it is asked with, as
 * the api does (kit/session): realtime signs one for the socket's session (api-tokens.ts).
 */
import { afterAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import type { ServerWebSocket } from "bun";
import Redis from "ioredis";
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import {
  encodeFanoutEvent,
  presenceChannel,
  presenceKeys,
  replicaChannel,
  type ServerFrame,
  userChannel,
} from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import { createLogger } from "@parley/kit/log";
import { readMarks } from "@parley/kit/marks";
import { TurnOutbox } from "../src/fanout/outbox.ts";
import { newSessionId, type TokenVerifier, verifySession } from "@parley/kit/session";
import { jwt } from "@elysiajs/jwt";
import { Elysia } from "elysia";
import { ApiTokens } from "../src/fanout/api-tokens.ts";
import { CONTACT_LOADS_AT_ONCE, LocalUsers } from "../src/fanout/local-users.ts";
import { MEMBERSHIP_RETRY_MS } from "../src/fanout/membership.ts";
import { Openings } from "../src/fanout/openings.ts";
import { Session } from "../src/fanout/session.ts";
import { ChannelSubscriptions } from "../src/fanout/subscriptions.ts";
import { subscriberOn } from "@parley/kit/pubsub";
import { createRealtimeMetrics } from "../src/libs/metrics.ts";
import { PresenceRegistry } from "../src/presence/registry.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { testRedisUrl } from "./helpers/env.ts";

setDefaultTimeout(60_000);

const id = (name: string) => `${name}-${crypto.randomUUID()}`;
/** a user id as the api makes them (kit/session accepts no other subject) */
const userId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex");
const [alice, bob, carol, dave] = [userId(), userId(), userId(), userId()];
const conv = (cid: string, members: string[]) => ({ id: cid, members: members.map((m) => ({ id: m })) });
const [c1, c2, c3, c4] = [id("c1"), id("c2"), id("c3"), id("c4")];

const settings = { jwtSecret: "local-users-test-secret-0123456789abcdef", jwtIssuer: "parley", jwtAudience: "parley" };
const tokens = new ApiTokens(settings);
const verifier = new Elysia().use(jwt({ name: "sessionJwt", secret: settings.jwtSecret })).decorator
  .sessionJwt as TokenVerifier;
/** A socket's session as the /ws route makes it: a session id and start, and its token's expiry. */
const sessionOf = (userId: string, frames: string[] = []) =>
  new Session(userId, fakeSocket(frames), outbox, Math.floor(Date.now() / 1000) + 3600, {
    sid: newSessionId(),
    startedAt: Date.now(),
  });

const calls = { list: 0, one: new Map<string, number>(), askedBy: [] as string[], contactsBackground: [] as boolean[] };
const api = Bun.serve({
  port: 0,
  async fetch(req) {
    const token = req.headers.get("authorization")?.replace(/^Bearer /, "") ?? "";
    const session = await verifySession(verifier, token, settings);
    if (!session) return Response.json({ error: { code: "unauthorized", message: "no" } }, { status: 401 });
    calls.askedBy.push(session.userId);
    const path = new URL(req.url).pathname;
    if (path === "/api/conversations/members") {
      calls.list++;
      calls.contactsBackground.push(req.headers.has(BACKGROUND_READ_HEADER));
      if (calls.list === 1) return Response.json({ error: { code: "unavailable", message: "down" } }, { status: 503 });
      const entry = (cid: string, memberIds: string[]) => ({ id: cid, memberIds, stateRev: 0 });
      return Response.json({ conversations: [entry(c1, [alice, bob]), entry(c2, [alice, carol])] });
    }
    const one = path.match(/^\/api\/conversations\/([^/]+)$/)?.[1];
    if (one) {
      calls.one.set(one, (calls.one.get(one) ?? 0) + 1);
      // c4 is a conversation of alice's that is not on the first page of her list
      if (one === c4) return Response.json({ conversation: conv(c4, [alice, dave]) });
      return Response.json({ error: { code: "not_found", message: "no such conversation" } }, { status: 404 });
    }
    return new Response("no", { status: 404 });
  },
});

const commands = new Redis(testRedisUrl);
const subscriber = new Redis(testRedisUrl);
const log = createLogger("local-users-test", "silent");
const metrics = createRealtimeMetrics();
/** the sockets' frames wait here for the end of the turn; tests flush it themselves where they look at once */
const outbox = new TurnOutbox(metrics, log);
const subscriptions = new ChannelSubscriptions(subscriberOn(subscriber), log);
const replicaId = id("replica");
const presence = new PresenceRegistry(commands, replicaId, log);
/** as on one Redis server: events arrive routed to the replica's channel */
const routeChannel = replicaChannel(replicaId);
/** A replica's LocalUsers on the test's Redis, asking the api at `apiUrl`; `changes` for the test at hand. */
const localUsers = (apiUrl: string, changes: Partial<ConstructorParameters<typeof LocalUsers>[0]> = {}) =>
  new LocalUsers({
    apiUrl,
    routeChannel,
    subscriptions,
    presence,
    metrics,
    tokens,
    marks: (id) => readMarks(commands, id),
    openings: new Openings(),
    log,
    ...changes,
  });
const users = localUsers(`http://127.0.0.1:${api.port}`);

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
    cork: (write: () => void) => write(),
    close: () => undefined,
  }) as unknown as ServerWebSocket<unknown>;

describe("LocalUsers", () => {
  test("contacts: a failed load is retried, and a conversation frame meanwhile is kept", async () => {
    const session = sessionOf(alice);
    await users.join(session);
    expect(calls.list).toBe(1); // answered 503
    // asked with a token the api accepts, for alice's own session
    expect(calls.askedBy).toEqual([alice]);
    // as a read that can wait (the api serves catch-ups first)
    expect(calls.contactsBackground).toEqual([true]);

    // a new conversation arrives over Redis while the contacts are not loaded
    const frame = { type: "conversation", conversation: conv(c3, [alice, dave]) } as unknown as ServerFrame;
    users.deliver(userChannel(alice), encodeFanoutEvent(frame, Date.now()));
    // its members are known from the frame: no question to the api
    expect(await users.membersOf(alice, c3)).toEqual([alice, dave]);
    expect(calls.one.get(c3)).toBeUndefined();

    await Bun.sleep(MEMBERSHIP_RETRY_MS + 100);
    users.repairMemberships();
    await waitFor(
      "the contacts of the first page followed",
      () => users.follows(presenceChannel(bob)) && users.follows(presenceChannel(carol)),
      10_000,
    );
    expect(calls.list).toBe(2);
    for (const contact of [bob, carol, dave]) expect(users.follows(presenceChannel(contact))).toBe(true);
    // members of the listed conversations were learnt on the way
    expect(await users.membersOf(alice, c1)).toEqual([alice, bob]);
    expect(calls.one.get(c1)).toBeUndefined();
    session.markClosed();
    users.leave(session);
  });

  test("membership is asked per conversation: one beyond the first page is found, then kept", async () => {
    const session = sessionOf(alice);
    await users.join(session);
    expect(await users.membersOf(alice, c4)).toEqual([alice, dave]);
    expect(await users.membersOf(alice, c4)).toEqual([alice, dave]);
    expect(calls.one.get(c4)).toBe(1);
    // not a member: the answer is kept too
    expect(await users.membersOf(alice, `${c2}x`)).toBe("not_member");
    expect(await users.membersOf(alice, `${c2}x`)).toBe("not_member");
    expect(calls.one.get(`${c2}x`)).toBe(1);
    session.markClosed();
    users.leave(session);
  });

  test("lookups are bounded per user: made-up conversations cannot turn into a stream of api calls", async () => {
    const session = sessionOf(bob);
    await users.join(session);
    const before = [...calls.one.values()].reduce((a, b) => a + b, 0);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => users.membersOf(bob, id(`made-up-${i}`))));
    expect(answers.every((a) => a === "not_member")).toBe(true);
    expect([...calls.one.values()].reduce((a, b) => a + b, 0) - before).toBeLessThanOrEqual(10);
    session.markClosed();
    users.leave(session);
  });

  test("a user back within moments reuses their contacts: no second question to the api", async () => {
    const before = calls.list;
    for (let i = 0; i < 5; i++) {
      const session = sessionOf(alice);
      await users.join(session);
      session.markClosed();
      users.leave(session);
    }
    expect(calls.list - before).toBeLessThanOrEqual(1);
  });
});

describe("channels followed", () => {
  const numsub = async (channel: string) => Number(((await commands.pubsub("NUMSUB", channel)) as [string, number])[1]);
  const gauge = async () => (await metrics.subscribedChannels.get()).values[0]?.value ?? 0;

  test("one server: the replica's channel and the users' presence entries; a contact's presence while anyone here watches them", async () => {
    const [u1, u2] = [userId(), userId()];
    const entry = (u: string) => commands.zscore(presenceKeys.user(u), replicaId);
    const before = await gauge();
    const frames: string[] = [];
    const first = sessionOf(u1, frames);
    const other = sessionOf(u2);
    const joined = users.join(first);
    await waitFor("u1 ready", () => frames[0]?.includes('"ready"') === true, 10_000);
    // `ready` came after the entry was written: the routing script finds the user here
    expect(await entry(u1)).not.toBeNull();
    await Promise.all([joined, users.join(other)]);
    expect(await numsub(routeChannel)).toBe(1);
    expect(await numsub(userChannel(u1))).toBe(0);
    expect(users.follows(routeChannel)).toBe(true);
    expect(users.follows(userChannel(u1))).toBe(false);
    await waitFor("the contacts followed", () => users.follows(presenceChannel(carol)), 10_000);
    // the replica's channel is one for all its users (counted before they came)
    expect(await gauge()).toBe(before + 3);

    users.leave(first);
    users.leave(other);
    await waitFor("the entries removed", async () => (await entry(u1)) === null && (await entry(u2)) === null);
    expect(await numsub(routeChannel)).toBe(1);
    await waitFor("contacts released", async () => (await numsub(presenceChannel(carol))) === 0, 10_000);
    expect(await gauge()).toBe(before);
  });

  test("a Redis Cluster's way (on one server here): a user's channel from their first socket to their last; a contact's presence while anyone here watches them", async () => {
    const users = localUsers(`http://127.0.0.1:${api.port}`, { routeChannel: null });
    const [u1, u2] = [userId(), userId()];
    const first = sessionOf(u1);
    const second = sessionOf(u1);
    const other = sessionOf(u2);
    await Promise.all([users.join(first), users.join(second), users.join(other)]);
    // both have alice, bob and carol as contacts (the stand-in api lists the same page for everyone)
    await waitFor("both users' contacts followed", () => users.follows(presenceChannel(carol)), 10_000);
    await waitFor("Redis has the subscriptions", async () => (await numsub(presenceChannel(carol))) === 1, 10_000);
    expect(await numsub(userChannel(u1))).toBe(1);
    expect(await gauge()).toBe(2 + 3);

    users.leave(first); // u1 still has a socket
    users.leave(other); // u2 gone; u1 still watches carol
    await Bun.sleep(50);
    expect(await numsub(userChannel(u1))).toBe(1);
    expect(await numsub(userChannel(u2))).toBe(0);
    expect(await numsub(presenceChannel(carol))).toBe(1);
    expect(users.follows(userChannel(u2))).toBe(false);

    users.leave(second);
    await waitFor("every channel released", async () => (await numsub(presenceChannel(carol))) === 0, 10_000);
    expect(await numsub(userChannel(u1))).toBe(0);
    expect(users.follows(presenceChannel(carol))).toBe(false);
    expect(await gauge()).toBe(0);
  });
});

describe("events routed to the replica (one server)", () => {
  const routed = (to: string[], frame: unknown) =>
    `${to.join(",")}\n${encodeFanoutEvent(frame as ServerFrame, Date.now())}`;

  test("a message on the replica's channel reaches every socket of the users it names here, and no one else", async () => {
    const [u1, u2, u3, away] = [userId(), userId(), userId(), userId()];
    const got = new Map<string, string[][]>();
    const sessions = [u1, u1, u2, u3].map((u) => {
      const frames: string[] = [];
      got.set(u, [...(got.get(u) ?? []), frames]);
      return sessionOf(u, frames);
    });
    await Promise.all(sessions.map((s) => users.join(s)));
    const read = { type: "read", conversationId: c1, userId: u3, seq: 7 };
    users.deliver(routeChannel, routed([u1, away, u2], read));
    outbox.flushAll(); // what the end of this turn does
    const reads = (u: string) => got.get(u)!.flatMap((frames) => frames.filter((f) => f.includes('"read"')));
    expect(reads(u1)).toEqual([JSON.stringify(read), JSON.stringify(read)]); // both of u1's sockets
    expect(reads(u2)).toEqual([JSON.stringify(read)]);
    expect(reads(u3)).toEqual([]);
    // malformed: ignored, nothing delivered
    users.deliver(routeChannel, "no recipients line");
    users.deliver(routeChannel, `${u1}\nnot an event`);
    outbox.flushAll();
    expect(reads(u1)).toHaveLength(2);
    for (const s of sessions) {
      s.markClosed();
      users.leave(s);
    }
  });

  test("a user whose entry was swept while the replica stalled is closed with 1012 (to catch up); one still arriving is not", async () => {
    const [stalled, fine] = [userId(), userId()];
    const closes: number[] = [];
    const session = new Session(
      stalled,
      { ...fakeSocket([]), close: (code: number) => closes.push(code) } as unknown as ServerWebSocket<unknown>,
      outbox,
      Math.floor(Date.now() / 1000) + 3600,
      { sid: newSessionId(), startedAt: Date.now() },
    );
    const other = sessionOf(fine);
    await Promise.all([users.join(session), users.join(other)]);
    // a sweeper removed the stalled user's entry (as after a stall past the TTL)
    await commands.zrem(presenceKeys.user(stalled), replicaId);
    const lost = await presence.refreshAll([stalled, fine]);
    expect(lost).toEqual([stalled]);
    // the heartbeat wrote it again: a second refresh finds nothing lost
    expect(await presence.refreshAll([stalled, fine])).toEqual([]);
    expect(users.entriesLost(lost)).toBe(1);
    expect(closes).toEqual([CLOSE_CODES.serviceRestart]);
    // a user whose entry is still being written (their `ready` not sent) is left alone
    const arriving = sessionOf(userId());
    const joining = users.join(arriving);
    expect(users.entriesLost([arriving.userId])).toBe(0);
    await joining;
    for (const s of [session, other, arriving]) {
      s.markClosed();
      users.leave(s);
    }
  });
});

describe("an api from before GET /api/conversations/members (a rolling deploy)", () => {
  test("its 422 for /members (read as a bad conversation id) sends the replica to the list's first page", async () => {
    const [me, friend] = [userId(), userId()];
    const cid = id("older");
    const asked: string[] = [];
    const olderApi = Bun.serve({
      port: 0,
      fetch(req) {
        const path = new URL(req.url).pathname;
        asked.push(path);
        if (path === "/api/conversations")
          return Response.json({ conversations: [{ ...conv(cid, [me, friend]), stateRev: 2 }], nextCursor: null });
        return Response.json({ error: { code: "validation_failed", message: "bad id" } }, { status: 422 });
      },
    });
    const replica = localUsers(`http://127.0.0.1:${olderApi.port}`);
    const session = sessionOf(me);
    try {
      await replica.join(session);
      await waitFor("the friend followed", () => replica.follows(presenceChannel(friend)), 10_000);
      expect(asked).toEqual(["/api/conversations/members", "/api/conversations"]);
      // the members were learnt on the way: no question for them
      expect(await replica.membersOf(me, cid)).toEqual([me, friend]);
      expect(asked).toHaveLength(2);
    } finally {
      session.markClosed();
      replica.leave(session);
      olderApi.stop(true);
    }
  });
});

describe("group changes", () => {
  test("a line that a user left the group stops typing there reaching them; an older frame does not undo it", async () => {
    const frames: string[] = [];
    const session = sessionOf(bob, frames);
    await users.join(session);
    await waitFor("bob's conversations loaded", async () => Array.isArray(await users.membersOf(bob, c1)), 10_000);
    const deliver = (frame: unknown) => {
      users.deliver(userChannel(bob), encodeFanoutEvent(frame as ServerFrame, Date.now()));
      outbox.flushAll(); // what the end of this turn does
    };
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
    // the relay's own limits come first (and bob typed a moment ago): ask what it would ask
    expect(await users.membersOf(bob, c1)).toBe("not_member");
    // a frame from before the line, arriving late, changes nothing
    deliver({ type: "conversation", conversation: { ...conv(c1, [alice, bob]), stateRev: 2 } });
    deliver(typingIn(c1));
    expect(typings()).toBe(1);
    // added again
    deliver(line([alice, bob], 4));
    deliver(typingIn(c1));
    expect(typings()).toBe(2);
    // a member again
    expect(await users.membersOf(bob, c1)).toEqual([alice, bob]);

    session.markClosed();
    users.leave(session);
  });
});

describe("a replica's users arriving at once (another replica died)", () => {
  test(`every socket is ready at once; contact lists go to the api at most ${CONTACT_LOADS_AT_ONCE} at a time, and all of them`, async () => {
    let inFlight = 0;
    let peak = 0;
    let asked = 0;
    // the api holds every answer until the test has seen every socket ready
    const held = Promise.withResolvers<void>();
    const slowApi = Bun.serve({
      port: 0,
      async fetch() {
        asked++;
        peak = Math.max(peak, ++inFlight);
        await held.promise;
        await Bun.sleep(5);
        inFlight--;
        return Response.json({ conversations: [] });
      },
    });
    const crowd = localUsers(`http://127.0.0.1:${slowApi.port}`);
    try {
      const arrivals = Array.from({ length: 24 }, () => {
        const frames: string[] = [];
        return { frames, session: sessionOf(userId(), frames) };
      });
      const joined = arrivals.map((a) => crowd.join(a.session));
      // `ready` does not wait for the contact lists: every socket has it while none has been answered
      await waitFor("every socket ready", () => arrivals.every((a) => a.frames[0]?.includes('"ready"')), 10_000);
      expect(asked).toBeLessThanOrEqual(CONTACT_LOADS_AT_ONCE);
      held.resolve();
      await Promise.all(joined);
      expect(asked).toBe(arrivals.length);
      expect(peak).toBeLessThanOrEqual(CONTACT_LOADS_AT_ONCE);
      for (const a of arrivals) {
        a.session.markClosed();
        crowd.leave(a.session);
      }
    } finally {
      slowApi.stop(true);
    }
  });

  test("no contact list is asked while a socket is still opening here, and one stuck opening holds them only until the cap", async () => {
    let asked = 0;
    const countingApi = Bun.serve({
      port: 0,
      fetch() {
        asked++;
        return Response.json({ conversations: [] });
      },
    });
    const holdMaxMs = 1500;
    const openings = new Openings(20, holdMaxMs);
    const crowd = localUsers(`http://127.0.0.1:${countingApi.port}`, { openings });
    const arrivals = Array.from({ length: 10 }, () => {
      const frames: string[] = [];
      return { frames, session: sessionOf(userId(), frames) };
    });
    try {
      // another socket's upgrade is in progress (its token being checked) while these join
      const upgrading = openings.begin();
      const joined = arrivals.map((a) => crowd.join(a.session));
      await waitFor("every socket ready", () => arrivals.every((a) => a.frames[0]?.includes('"ready"')), 10_000);
      expect(openings.size).toBe(1);
      await Bun.sleep(200); // ten times the quiet period: the lists would have gone by now
      // the heartbeat's repair of failed loads does not ask for lists never asked yet either
      crowd.repairMemberships();
      await Bun.sleep(50);
      expect(asked).toBe(0);
      upgrading();
      await Promise.all(joined);
      expect(asked).toBe(arrivals.length);

      // a socket that never finishes opening: the next user's list waits for the cap, then goes
      const stuck = openings.begin();
      const late = sessionOf(userId());
      arrivals.push({ frames: [], session: late });
      const started = performance.now();
      await crowd.join(late);
      expect(asked).toBe(arrivals.length);
      expect(performance.now() - started).toBeGreaterThanOrEqual(holdMaxMs - 50);
      stuck();
    } finally {
      for (const a of arrivals) {
        a.session.markClosed();
        crowd.leave(a.session);
      }
      countingApi.stop(true);
    }
  });
});
