/** Conversations: direct (once per pair, race-safe) and group, listing, and privacy (404, never 403). */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("conversations", { sendRateMax: 10_000 });
});
afterAll(() => api.stop());

const create = (token: string, body: unknown) => api.call("POST", "/api/conversations", { token, body });

describe("create", () => {
  test("a direct chat: 201, creator included; again (either side) 200 with the same one", async () => {
    const a = await api.register("a");
    const b = await api.register("b");
    const first = await create(a.token, { memberIds: [b.user.id] });
    expect(first.status).toBe(201);
    const c = first.body.conversation;
    expect(c).toMatchObject({ kind: "direct", title: null, lastMessage: null, lastSeq: 0, readSeq: 0, unread: 0 });
    expect(c.members.map((m: { id: string }) => m.id).sort()).toEqual([a.user.id, b.user.id].sort());
    expect(c.members.find((m: { id: string }) => m.id === b.user.id).username).toBe(b.user.username);
    const again = await create(a.token, { memberIds: [b.user.id] });
    expect(again.status).toBe(200);
    expect(again.body.conversation.id).toBe(c.id);
    const fromOtherSide = await create(b.token, { memberIds: [a.user.id, b.user.id] });
    expect(fromOtherSide.status).toBe(200);
    expect(fromOtherSide.body.conversation.id).toBe(c.id);
  });

  test("10 concurrent creates of one direct chat give one conversation", async () => {
    const a = await api.register("ra");
    const b = await api.register("rb");
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        create(i % 2 ? a.token : b.token, { memberIds: [i % 2 ? b.user.id : a.user.id] }),
      ),
    );
    const ids = new Set(results.map((r) => r.body.conversation.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201).length).toBeLessThanOrEqual(1);
    expect(results.every((r) => r.status === 201 || r.status === 200)).toBe(true);
    expect(await api.deps.db.Conversation.countDocuments({ memberIds: { $all: [a.user.id, b.user.id] } })).toBe(1);
  });

  test("a group: 2+ others, title trimmed; without a title it is null", async () => {
    const [a, b, c] = [await api.register("ga"), await api.register("gb"), await api.register("gc")];
    const res = await create(a.token, { memberIds: [b.user.id, c.user.id], title: "  Team  " });
    expect(res.status).toBe(201);
    expect(res.body.conversation).toMatchObject({ kind: "group", title: "Team" });
    expect(res.body.conversation.members).toHaveLength(3);
    const untitled = await create(a.token, { memberIds: [b.user.id, c.user.id], title: "   " });
    expect(untitled.status).toBe(201);
    expect(untitled.body.conversation.title).toBeNull();
    expect(untitled.body.conversation.id).not.toBe(res.body.conversation.id);
  });

  test("a body without a JSON Content-Type (a cross-origin Blob or text/plain fetch with the cookie) is 422, nothing created", async () => {
    const a = await api.register("ct");
    const b = await api.register("ct");
    const cookie = `session=${a.token}`;
    const json = JSON.stringify({ memberIds: [b.user.id] });
    const noType = await api.app.handle(
      new Request("http://localhost/api/conversations", {
        method: "POST",
        headers: { cookie },
        body: new Blob([json]),
      }),
    );
    expect(noType.headers.get("content-type") ?? "").toContain("json");
    const noTypeBody = (await noType.json()) as { error: { code: string; message: string } };
    expect({ status: noType.status, code: noTypeBody.error.code }).toEqual({ status: 422, code: "validation_failed" });
    expect(noTypeBody.error.message).toMatch(/content-type/i);
    const plain = await api.call("POST", "/api/conversations", {
      raw: json,
      headers: { cookie, "content-type": "text/plain" },
    });
    expect({ status: plain.status, code: plain.body.error.code }).toEqual({ status: 422, code: "validation_failed" });
    const form = await api.call("POST", "/api/conversations", {
      raw: new URLSearchParams({ memberIds: b.user.id }),
      headers: { cookie },
    });
    expect(form.status).toBe(422);
    const list = await api.call("GET", "/api/conversations", { token: a.token });
    expect(list.body.conversations).toEqual([]);
    // JSON media types with parameters or a +json suffix are fine
    const ok = await api.call("POST", "/api/conversations", {
      raw: json,
      headers: { cookie, "content-type": "application/json; charset=utf-8" },
    });
    expect(ok.status).toBe(201);
  });

  test("errors: yourself only 422, unknown member 404, bad id / empty / long title 422, no token 401", async () => {
    const a = await api.register("ea");
    const b = await api.register("eb");
    const self = await create(a.token, { memberIds: [a.user.id] });
    expect(self.status).toBe(422);
    expect(self.body.error.code).toBe("validation_failed");
    const unknown = await create(a.token, { memberIds: [b.user.id, "0123456789abcdef01234567"] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    const badId = await create(a.token, { memberIds: ["nope"] });
    expect(badId.status).toBe(422);
    expect(badId.body.error.details.map((d: { path: string }) => d.path)).toContain("/memberIds/0");
    expect((await create(a.token, { memberIds: [] })).status).toBe(422);
    expect((await create(a.token, { memberIds: [b.user.id, b.user.id] })).status).toBe(422);
    const longTitle = await create(a.token, { memberIds: [b.user.id, a.user.id], title: "x".repeat(101) });
    expect(longTitle.status).toBe(422);
    expect(longTitle.body.error.details.map((d: { path: string }) => d.path)).toContain("/title");
    expect((await api.call("POST", "/api/conversations", { body: { memberIds: [b.user.id] } })).status).toBe(401);
  });
});

describe("read", () => {
  test("list: members, lastMessage, lastSeq, readSeq, unread; newest activity first; only my conversations", async () => {
    const [a, b, c, outsider] = [
      await api.register("la"),
      await api.register("lb"),
      await api.register("lc"),
      await api.register("lo"),
    ];
    const ab = (await create(a.token, { memberIds: [b.user.id] })).body.conversation;
    const ac = (await create(a.token, { memberIds: [c.user.id] })).body.conversation;
    const group = (await create(b.token, { memberIds: [a.user.id, c.user.id], title: "g" })).body.conversation;
    // newest activity first: a message in ab makes it the newest
    await api.call("POST", `/api/conversations/${ab.id}/messages`, {
      token: b.token,
      body: { body: "one", clientId: "m1" },
    });
    await api.call("POST", `/api/conversations/${ab.id}/messages`, {
      token: b.token,
      body: { body: "two", clientId: "m2" },
    });
    const list = await api.call("GET", "/api/conversations", { token: a.token });
    expect(list.status).toBe(200);
    expect(list.body.conversations.map((x: { id: string }) => x.id)).toEqual([ab.id, group.id, ac.id]);
    const first = list.body.conversations[0];
    expect(first).toMatchObject({ lastSeq: 2, readSeq: 0, unread: 2 });
    expect(first.lastMessage).toMatchObject({ seq: 2, body: "two", senderId: b.user.id });
    // the sender has read their own messages
    const bList = await api.call("GET", "/api/conversations", { token: b.token });
    expect(bList.body.conversations.find((x: { id: string }) => x.id === ab.id)).toMatchObject({
      lastSeq: 2,
      readSeq: 2,
      unread: 0,
    });
    const other = await api.call("GET", "/api/conversations", { token: outsider.token });
    expect(other.body.conversations).toEqual([]);
    const one = await api.call("GET", `/api/conversations/${ab.id}`, { token: a.token });
    expect(one.status).toBe(200);
    expect(one.body.conversation).toEqual(first);
  });

  test("a non-member gets 404 on every conversation route, same as a conversation that does not exist", async () => {
    const [a, b, outsider] = [await api.register("pa"), await api.register("pb"), await api.register("po")];
    const conv = (await create(a.token, { memberIds: [b.user.id] })).body.conversation;
    await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      body: { body: "secret", clientId: "s1" },
    });
    const missing = "0123456789abcdef01234567";
    for (const id of [conv.id, missing]) {
      const routes = [
        await api.call("GET", `/api/conversations/${id}`, { token: outsider.token }),
        await api.call("GET", `/api/conversations/${id}/messages`, { token: outsider.token }),
        await api.call("GET", `/api/conversations/${id}/messages?after=0`, { token: outsider.token }),
        await api.call("POST", `/api/conversations/${id}/messages`, {
          token: outsider.token,
          body: { body: "hi", clientId: "x1" },
        }),
        await api.call("POST", `/api/conversations/${id}/read`, { token: outsider.token, body: { seq: 1 } }),
      ];
      for (const r of routes) {
        expect(r.status).toBe(404);
        expect(r.body.error.code).toBe("not_found");
        expect(JSON.stringify(r.body)).not.toContain("secret");
      }
    }
    expect(await api.deps.db.Message.countDocuments({ conversationId: conv.id })).toBe(1);
    expect(await api.deps.db.Read.countDocuments({ conversationId: conv.id, userId: outsider.user.id })).toBe(0);
    expect((await api.call("GET", `/api/conversations/not-an-id`, { token: outsider.token })).status).toBe(422);
  });
});
