/**
 * Mentions (counted apart from unread for the person named, until they read past them),
 * replies (to a message of the same conversation) and muting (the member's own setting).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { userChannel } from "@parley/contract/frames";
import { mentionedNames } from "@parley/contract/limits";
import { waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, subscriber, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("mentions", { sendRateMax: 10_000 });
});
afterAll(() => api.stop());

async function group() {
  const users = await Promise.all(["mna", "mnb", "mnc"].map((p) => api.register(p)));
  const conv = (
    await api.call("POST", "/api/conversations", {
      token: users[0]!.token,
      body: { memberIds: users.slice(1).map((u) => u.user.id), title: "mentions" },
    })
  ).body.conversation;
  return { users, conv };
}
const send = (token: string, convId: string, body: string, replyTo?: number) =>
  api.call("POST", `/api/conversations/${convId}/messages`, {
    token,
    body: { body, clientId: crypto.randomUUID(), ...(replyTo === undefined ? {} : { replyTo }) },
  });
const view = async (token: string, convId: string) =>
  (await api.call("GET", `/api/conversations/${convId}`, { token })).body.conversation;

test("mentionedNames: @names in order, lowercased, once, a sentence's full stop left out", () => {
  expect(mentionedNames("hi @Bob and @carol.x, @bob! mail@example.com @ab @dan.")).toEqual([
    "bob",
    "carol.x",
    "dan.",
    "dan",
  ]);
});

describe("mentions", () => {
  test("the person named counts it apart from unread until they read past it; others do not", async () => {
    const { users, conv } = await group();
    const [a, b, c] = users;
    const sent = await send(a!.token, conv.id, `lunch, @${b!.user.username.toUpperCase()}? and @nobody_here`);
    expect(sent.status).toBe(201);
    expect(sent.body.message.mentions).toEqual([b!.user.id]);
    await send(a!.token, conv.id, "no one named");
    await send(c!.token, conv.id, `@${b!.user.username}.`);
    expect(await view(b!.token, conv.id)).toMatchObject({ unread: 3, mentions: 2 });
    expect(await view(c!.token, conv.id)).toMatchObject({ mentions: 0 });
    const list = (await api.call("GET", "/api/conversations", { token: b!.token })).body.conversations;
    expect(list[0]).toMatchObject({ id: conv.id, mentions: 2 });
    await api.call("POST", `/api/conversations/${conv.id}/read`, { token: b!.token, body: { seq: 2 } });
    expect(await view(b!.token, conv.id)).toMatchObject({ unread: 1, mentions: 1 });
    await api.call("POST", `/api/conversations/${conv.id}/read`, { token: b!.token, body: { seq: 3 } });
    expect(await view(b!.token, conv.id)).toMatchObject({ unread: 0, mentions: 0 });
    await waitFor("read mentions to be forgotten", async () => (await api.deps.db.Mention.countDocuments()) === 0);
  });
});

describe("replies", () => {
  test("a reply names a message of the conversation; a seq that does not exist is 422 and nothing is stored", async () => {
    const { users, conv } = await group();
    const first = (await send(users[0]!.token, conv.id, "question?")).body.message;
    const reply = await send(users[1]!.token, conv.id, "answer", first.seq);
    expect(reply.status).toBe(201);
    expect(reply.body.message).toMatchObject({ seq: 2, replyTo: 1 });
    const bad = await send(users[1]!.token, conv.id, "to nothing", 99);
    expect([bad.status, bad.body.error.code]).toEqual([422, "validation_failed"]);
    expect(bad.body.error.details).toEqual([{ path: "/replyTo", message: "no such seq" }]);
    expect((await send(users[1]!.token, conv.id, "zero", 0)).status).toBe(422);
    const page = (await api.call("GET", `/api/conversations/${conv.id}/messages`, { token: users[2]!.token })).body;
    expect(page.messages.map((m: { replyTo: number | null }) => m.replyTo)).toEqual([null, 1]);
  });
});

describe("mute", () => {
  test("a member mutes for themself: their view says so, their other tabs hear it, the others' do not change", async () => {
    const { users, conv } = await group();
    const [a, b] = users;
    const sub = await subscriber([userChannel(a!.user.id), userChannel(b!.user.id)]);
    try {
      const res = await api.call("PUT", `/api/conversations/${conv.id}/mute`, {
        token: a!.token,
        body: { muted: true },
      });
      expect(res.status).toBe(200);
      expect(res.body.conversation).toMatchObject({ id: conv.id, muted: true });
      await waitFor("a's own event", () => sub.events(userChannel(a!.user.id)).length === 1);
      expect(sub.events(userChannel(a!.user.id))[0].frame).toMatchObject({
        type: "conversation",
        conversation: { id: conv.id, muted: true },
      });
      expect(sub.events(userChannel(b!.user.id))).toEqual([]);
      expect((await api.call("GET", "/api/conversations", { token: a!.token })).body.conversations[0].muted).toBe(true);
      expect((await view(b!.token, conv.id)).muted).toBe(false);
      // still counted
      await send(b!.token, conv.id, "while muted");
      expect(await view(a!.token, conv.id)).toMatchObject({ muted: true, unread: 1 });
      const off = await api.call("PUT", `/api/conversations/${conv.id}/mute`, {
        token: a!.token,
        body: { muted: false },
      });
      expect(off.body.conversation.muted).toBe(false);
      expect(
        (await api.call("PUT", `/api/conversations/${conv.id}/mute`, { token: a!.token, body: { muted: "yes" } }))
          .status,
      ).toBe(422);
    } finally {
      await sub.close();
    }
  });
});
