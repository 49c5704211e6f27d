/**
 * Group management: rename, add members, leave. Each is a system line in seq order with the
 * messages; the conversation document's names and members follow; a member who left is a
 * non-member at once, on every api process (the cache invalidation), gets no more events and
 * can do nothing. Concurrent changes are all applied, one on top of the other.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { userChannel } from "@parley/contract/frames";
import { Types } from "mongoose";
import { waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, subscriber, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("groups", { sendRateMax: 10_000, changeRateMax: 10_000, groupRateMax: 10_000 });
});
afterAll(() => api.stop());

async function group(n = 3, title = "team") {
  const users = await Promise.all(Array.from({ length: n }, (_, i) => api.register(`gr${i}`)));
  const conv = (
    await api.call("POST", "/api/conversations", {
      token: users[0]!.token,
      body: { memberIds: users.slice(1).map((u) => u.user.id), title },
    })
  ).body.conversation;
  return { users, conv };
}
const send = (token: string, convId: string, body: string) =>
  api.call("POST", `/api/conversations/${convId}/messages`, { token, body: { body, clientId: crypto.randomUUID() } });
const rename = (token: string, convId: string, title: unknown) =>
  api.call("PATCH", `/api/conversations/${convId}`, { token, body: { title } });
const add = (token: string, convId: string, memberIds: string[]) =>
  api.call("POST", `/api/conversations/${convId}/members`, { token, body: { memberIds } });
// every POST says it is JSON, body or not (what a cross-site form cannot)
const leave = (token: string, convId: string) =>
  api.call("POST", `/api/conversations/${convId}/leave`, { token, headers: { "content-type": "application/json" } });
const history = async (token: string, convId: string) =>
  (await api.call("GET", `/api/conversations/${convId}/messages?after=0&limit=100`, { token })).body.messages;

describe("rename", () => {
  test("a system line in seq order, the new title for everyone, an event to every member", async () => {
    const { users, conv } = await group();
    const [a, b, c] = users;
    const sub = await subscriber(users.map((u) => userChannel(u.user.id)));
    try {
      await send(a!.token, conv.id, "before");
      const res = await rename(b!.token, conv.id, "  Lunch crew  ");
      expect(res.status).toBe(200);
      expect(res.body.conversation).toMatchObject({ title: "Lunch crew", stateRev: 1, lastSeq: 2 });
      await send(c!.token, conv.id, "after");
      const lines = await history(a!.token, conv.id);
      expect(lines.map((m: { kind: string; body: string }) => [m.kind, m.body])).toEqual([
        ["text", "before"],
        ["system", `${b!.user.username} renamed the group to Lunch crew`],
        ["text", "after"],
      ]);
      expect(lines[1]).toMatchObject({ seq: 2, senderId: b!.user.id });
      expect(lines[1].system).toMatchObject({ action: "renamed", actorId: b!.user.id, title: "Lunch crew", rev: 1 });
      expect(lines[1].system.members.map((m: { id: string }) => m.id)).toEqual(users.map((u) => u.user.id));
      for (const u of users) {
        const list = await api.call("GET", "/api/conversations", { token: u.token });
        expect(list.body.conversations[0]).toMatchObject({ id: conv.id, title: "Lunch crew", stateRev: 1 });
        await waitFor("the line", () =>
          sub.events(userChannel(u.user.id)).some((e) => e.frame.type === "message" && e.frame.message.seq === 2),
        );
      }
      // the same name again writes nothing; an empty one removes the name
      expect((await rename(a!.token, conv.id, "Lunch crew")).body.conversation.stateRev).toBe(1);
      const cleared = await rename(a!.token, conv.id, "   ");
      expect(cleared.body.conversation).toMatchObject({ title: null, stateRev: 2 });
      expect((await history(a!.token, conv.id)).at(-1).body).toBe(`${a!.user.username} removed the group's name`);
    } finally {
      await sub.close();
    }
  });

  test("refusals: a direct chat 422, too long 422, not a member 404; a system line cannot be edited (403)", async () => {
    const { users, conv } = await group();
    const outsider = await api.register("grout");
    const direct = (
      await api.call("POST", "/api/conversations", { token: users[0]!.token, body: { memberIds: [users[1]!.user.id] } })
    ).body.conversation;
    expect((await rename(users[0]!.token, direct.id, "x")).status).toBe(422);
    expect((await rename(users[0]!.token, conv.id, "x".repeat(101))).status).toBe(422);
    expect((await rename(users[0]!.token, conv.id, 5)).status).toBe(422);
    expect((await rename(outsider.token, conv.id, "mine")).status).toBe(404);
    expect((await add(outsider.token, conv.id, [outsider.user.id])).status).toBe(404);
    expect((await leave(outsider.token, conv.id)).status).toBe(404);
    expect((await leave(users[0]!.token, direct.id)).status).toBe(422);
    await rename(users[0]!.token, conv.id, "renamed");
    const line = await api.call("PATCH", `/api/conversations/${conv.id}/messages/1`, {
      token: users[0]!.token,
      body: { body: "rewritten history" },
    });
    expect(line.status).toBe(403);
    const react = await api.call("PUT", `/api/conversations/${conv.id}/messages/1/reactions`, {
      token: users[1]!.token,
      body: { emoji: "👍", on: true },
    });
    expect(react.status).toBe(403);
    expect((await history(users[0]!.token, conv.id)).map((m: { body: string }) => m.body)).toEqual([
      `${users[0]!.user.username} renamed the group to renamed`,
    ]);
  });
});

describe("members", () => {
  test("an added member gets the line, sees the group and its history, and has only the line unread", async () => {
    const { users, conv } = await group();
    const [a] = users;
    const dan = await api.register("grdan");
    const sub = await subscriber([userChannel(dan.user.id)]);
    try {
      for (let i = 0; i < 3; i++) await send(a!.token, conv.id, `old ${i}`);
      const res = await add(a!.token, conv.id, [dan.user.id, users[1]!.user.id]);
      expect(res.status).toBe(200);
      expect(res.body.conversation.members.map((m: { id: string }) => m.id)).toEqual([
        ...users.map((u) => u.user.id),
        dan.user.id,
      ]);
      const line = (await history(dan.token, conv.id)).at(-1);
      expect(line).toMatchObject({ seq: 4, kind: "system", body: `${a!.user.username} added ${dan.user.username}` });
      expect(line.system).toMatchObject({ action: "added", userIds: [dan.user.id], rev: 1 });
      await waitFor("dan's line", () => sub.events(userChannel(dan.user.id)).length >= 1);
      expect(sub.events(userChannel(dan.user.id))[0].frame.message.seq).toBe(4);
      const mine = (await api.call("GET", "/api/conversations", { token: dan.token })).body.conversations;
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ id: conv.id, readSeq: 3, unread: 1 });
      expect((await send(dan.token, conv.id, "hi all")).status).toBe(201);
      // adding someone already in writes nothing; unknown people are 404; bad ids 422
      expect((await add(a!.token, conv.id, [dan.user.id])).body.conversation.stateRev).toBe(1);
      expect((await add(a!.token, conv.id, [new Types.ObjectId().toHexString()])).status).toBe(404);
      expect((await add(a!.token, conv.id, ["nope"])).status).toBe(422);
      expect((await add(a!.token, conv.id, [])).status).toBe(422);
    } finally {
      await sub.close();
    }
  });

  test("a member who left can do nothing, learns nothing and gets no event; the others see the line", async () => {
    const { users, conv } = await group();
    const [a, b, c] = users;
    await send(b!.token, conv.id, "b was here");
    const sub = await subscriber(users.map((u) => userChannel(u.user.id)));
    try {
      expect((await leave(b!.token, conv.id)).status).toBe(204);
      const line = (await history(a!.token, conv.id)).at(-1);
      expect(line).toMatchObject({ seq: 2, body: `${b!.user.username} left` });
      expect(line.system.members.map((m: { id: string }) => m.id)).toEqual([a!.user.id, c!.user.id]);
      // the leaver got their own line (their other tabs follow), then nothing more
      await waitFor("b's line", () => sub.events(userChannel(b!.user.id)).length === 1);
      await send(a!.token, conv.id, "after b left");
      await api.call("PUT", `/api/conversations/${conv.id}/messages/3/reactions`, {
        token: c!.token,
        body: { emoji: "👍", on: true },
      });
      await rename(c!.token, conv.id, "without b");
      await waitFor("a's events", () => sub.events(userChannel(a!.user.id)).length >= 4);
      expect(sub.events(userChannel(b!.user.id))).toHaveLength(1);
      const routes = [
        await api.call("GET", `/api/conversations/${conv.id}`, { token: b!.token }),
        await api.call("GET", `/api/conversations/${conv.id}/messages`, { token: b!.token }),
        await api.call("GET", `/api/conversations/${conv.id}/changes?since=0`, { token: b!.token }),
        await send(b!.token, conv.id, "still here?"),
        await api.call("POST", `/api/conversations/${conv.id}/read`, { token: b!.token, body: { seq: 3 } }),
        await api.call("PATCH", `/api/conversations/${conv.id}/messages/1`, { token: b!.token, body: { body: "x" } }),
        await api.call("DELETE", `/api/conversations/${conv.id}/messages/1`, { token: b!.token }),
        await api.call("PUT", `/api/conversations/${conv.id}/messages/1/reactions`, {
          token: b!.token,
          body: { emoji: "👍", on: true },
        }),
        await rename(b!.token, conv.id, "mine now"),
        await add(b!.token, conv.id, [b!.user.id]),
        await leave(b!.token, conv.id),
        await api.call("PUT", `/api/conversations/${conv.id}/mute`, { token: b!.token, body: { muted: true } }),
      ];
      for (const r of routes) {
        expect(r.status).toBe(404);
        expect(JSON.stringify(r.body)).not.toContain("after b left");
      }
      const list = await api.call("GET", "/api/conversations", { token: b!.token });
      expect(list.body.conversations).toEqual([]);
      // and it kept its own message: the conversation goes on without b
      expect((await history(a!.token, conv.id)).map((m: { body: string }) => m.body)).toEqual([
        "b was here",
        `${b!.user.username} left`,
        "after b left",
        `${c!.user.username} renamed the group to without b`,
      ]);
    } finally {
      await sub.close();
    }
  });

  test("concurrent additions and departures are all applied; the document's names follow its members", async () => {
    const { users, conv } = await group(6);
    const newcomers = await Promise.all(Array.from({ length: 4 }, () => api.register("grnew")));
    const results = await Promise.all([
      ...users.slice(1, 4).map((u) => leave(u.token, conv.id)),
      ...newcomers.map((n) => add(users[0]!.token, conv.id, [n.user.id])),
      rename(users[5]!.token, conv.id, "busy"),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 204, 204, 204]);
    const expected = [users[0]!, users[4]!, users[5]!, ...newcomers].map((u) => u.user.id).sort();
    const lines = (await history(users[0]!.token, conv.id)).filter((m: { kind: string }) => m.kind === "system");
    expect(lines.map((m: { system: { rev: number } }) => m.system.rev)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const last = lines.at(-1).system;
    expect(last.members.map((m: { id: string }) => m.id).sort()).toEqual(expected);
    expect(last.title).toBe("busy");
    await api.deps.bookkeeper.settle();
    const doc = await api.deps.db.Conversation.collection.findOne({ _id: new Types.ObjectId(conv.id as string) });
    expect(doc?.stateRev).toBe(8);
    const names = new Map([...users, ...newcomers].map((u) => [u.user.id, u.user.username] as [string, string]));
    expect(doc?.memberIds.map((m: Types.ObjectId) => m.toHexString()).sort()).toEqual(expected);
    expect(doc?.memberNames).toEqual(doc?.memberIds.map((m: Types.ObjectId) => names.get(m.toHexString())));
    for (const u of newcomers)
      expect((await api.call("GET", `/api/conversations/${conv.id}`, { token: u.token })).status).toBe(200);
  }, 60_000);
});

test("another api process stops serving a member who left at once (the invalidation reaches its cache)", async () => {
  const other = await startTestApi("groups", { mongoUrl: api.config.mongoUrl, groupRateMax: 10_000 });
  try {
    const { users, conv } = await group();
    const [a, b, c] = users;
    // the other process caches the conversation while b is a member
    expect((await other.call("GET", `/api/conversations/${conv.id}/messages`, { token: b!.token })).status).toBe(200);
    const sub = await subscriber([userChannel(b!.user.id), userChannel(c!.user.id)]);
    try {
      expect((await leave(b!.token, conv.id)).status).toBe(204);
      await waitFor(
        "the other process to refuse b",
        async () =>
          (await other.call("GET", `/api/conversations/${conv.id}/messages`, { token: b!.token })).status === 404,
        3000,
      );
      const sent = await other.call("POST", `/api/conversations/${conv.id}/messages`, {
        token: a!.token,
        body: { body: "through the other process", clientId: "other-1" },
      });
      expect(sent.status).toBe(201);
      await waitFor("c's message", () =>
        sub.events(userChannel(c!.user.id)).some((e) => e.frame.message?.body === "through the other process"),
      );
      expect(sub.events(userChannel(b!.user.id)).map((e) => e.frame.message.kind)).toEqual(["system"]);
    } finally {
      await sub.close();
    }
  } finally {
    await other.stop({ keepData: true });
  }
});

test("renames and additions are rate limited per user (429)", async () => {
  const limited = await startTestApi("groups_rl", { groupRateMax: 2, groupRateWindowSeconds: 60 });
  try {
    const [a, b, c] = [await limited.register("glim"), await limited.register("glim"), await limited.register("glim")];
    const conv = (
      await limited.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id, c.user.id] } })
    ).body.conversation;
    const go = (t: string) =>
      limited.call("PATCH", `/api/conversations/${conv.id}`, { token: a.token, body: { title: t } });
    expect([(await go("one")).status, (await go("two")).status]).toEqual([200, 200]);
    const third = await go("three");
    expect([third.status, third.body.error.code]).toEqual([429, "rate_limited"]);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
    // leaving is never limited
    const json = { "content-type": "application/json" };
    expect(
      (await limited.call("POST", `/api/conversations/${conv.id}/leave`, { token: a.token, headers: json })).status,
    ).toBe(204);
  } finally {
    await limited.stop();
  }
});
