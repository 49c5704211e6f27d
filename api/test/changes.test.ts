/**
 * Changes of messages: edit and delete one's own, reactions of any member, each a version with
 * the conversation's next rev; concurrent reactions are all kept; deleting removes the body from
 * every document that held it; `GET …/changes?since=` catches up in order, without a gap.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { userChannel } from "@parley/contract/frames";
import { MESSAGE_BODY_MAX } from "@parley/contract/limits";
import { Types } from "mongoose";
import { waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, subscriber, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("changes", { sendRateMax: 10_000, changeRateMax: 10_000 });
});
afterAll(() => api.stop());

type Token = string;
async function group(n = 3) {
  const users = await Promise.all(Array.from({ length: n }, (_, i) => api.register(`ch${i}`)));
  const conv = (
    await api.call("POST", "/api/conversations", {
      token: users[0]!.token,
      body: { memberIds: users.slice(1).map((u) => u.user.id), title: "changes" },
    })
  ).body.conversation;
  return { users, conv };
}
const send = async (token: Token, convId: string, body: string) =>
  (
    await api.call("POST", `/api/conversations/${convId}/messages`, {
      token,
      body: { body, clientId: crypto.randomUUID() },
    })
  ).body.message;
const edit = (token: Token, convId: string, seq: number, body: unknown) =>
  api.call("PATCH", `/api/conversations/${convId}/messages/${seq}`, { token, body });
const remove = (token: Token, convId: string, seq: number) =>
  api.call("DELETE", `/api/conversations/${convId}/messages/${seq}`, { token });
const react = (token: Token, convId: string, seq: number, emoji: string, on = true) =>
  api.call("PUT", `/api/conversations/${convId}/messages/${seq}/reactions`, { token, body: { emoji, on } });
const changes = (token: Token, convId: string, query = "") =>
  api.call("GET", `/api/conversations/${convId}/changes${query}`, { token });
const history = (token: Token, convId: string) =>
  api.call("GET", `/api/conversations/${convId}/messages?after=0&limit=100`, { token });

describe("edit", () => {
  test("the sender edits: 200 with the new body, editedAt and version 1; history and the changes agree", async () => {
    const { users, conv } = await group();
    const [a, b] = users;
    const m = await send(a!.token, conv.id, "helo");
    const res = await edit(a!.token, conv.id, m.seq, { body: "  hello  " });
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ id: m.id, seq: m.seq, body: "hello", version: 1, deleted: false });
    expect(res.body.message.editedAt).toBeString();
    const page = await history(b!.token, conv.id);
    expect(page.body.messages[0]).toEqual(res.body.message);
    expect(page.body.rev).toBe(1);
    const caught = await changes(b!.token, conv.id, "?since=0");
    expect(caught.body).toEqual({
      changes: [
        {
          conversationId: conv.id,
          rev: 1,
          kind: "edit",
          actorId: a!.user.id,
          message: res.body.message,
          createdAt: expect.any(String),
        },
      ],
      hasMore: false,
      rev: 1,
    });
    // the same body again changes nothing
    const again = await edit(a!.token, conv.id, m.seq, { body: "hello" });
    expect(again.status).toBe(200);
    expect(again.body.message.version).toBe(1);
    expect((await changes(b!.token, conv.id, "?since=1")).body).toEqual({ changes: [], hasMore: false, rev: 1 });
  });

  test("refusals change nothing: someone else's message 403, empty 422, too long 413, no such seq 404, bad seq 422", async () => {
    const { users, conv } = await group();
    const [a, b] = users;
    const m = await send(a!.token, conv.id, "mine");
    const other = await edit(b!.token, conv.id, m.seq, { body: "theirs" });
    expect([other.status, other.body.error.code]).toEqual([403, "forbidden"]);
    expect((await edit(a!.token, conv.id, m.seq, { body: "  " })).status).toBe(422);
    const long = await edit(a!.token, conv.id, m.seq, { body: "x".repeat(MESSAGE_BODY_MAX + 1) });
    expect([long.status, long.body.error.code]).toEqual([413, "payload_too_large"]);
    expect((await edit(a!.token, conv.id, 99, { body: "x" })).status).toBe(404);
    expect((await edit(a!.token, conv.id, 0, { body: "x" })).status).toBe(422);
    expect((await edit(a!.token, conv.id, m.seq, { body: 5 })).status).toBe(422);
    expect((await edit(a!.token, conv.id, m.seq, { body: "x", extra: 1 })).status).toBe(200);
    const page = await history(a!.token, conv.id);
    expect(page.body.messages[0]).toMatchObject({ body: "x", version: 1 });
    expect(await api.deps.db.Change.countDocuments({ conversationId: conv.id })).toBe(1);
  });
});

describe("delete", () => {
  test("the body leaves every document that held it; the message keeps its place; the preview follows", async () => {
    const { users, conv } = await group();
    const [a, b] = users;
    const m = await send(a!.token, conv.id, "a secret first draft");
    await edit(a!.token, conv.id, m.seq, { body: "a secret second draft" });
    await react(b!.token, conv.id, m.seq, "👍");
    const res = await remove(a!.token, conv.id, m.seq);
    expect(res.status).toBe(200);
    expect(res.body.message).toMatchObject({ seq: m.seq, body: "", deleted: true, reactions: [], version: 3 });
    await api.deps.bookkeeper.settle();
    const id = new Types.ObjectId(m.id as string);
    const stored = JSON.stringify([
      await api.deps.db.Message.collection.findOne({ _id: id }),
      await api.deps.db.Change.collection.find({ messageId: id }).toArray(),
      await api.deps.db.Conversation.collection.findOne({ _id: new Types.ObjectId(conv.id as string) }),
    ]);
    expect(stored).not.toContain("secret");
    const list = await api.call("GET", "/api/conversations", { token: b!.token });
    expect(list.body.conversations[0].lastMessage).toMatchObject({ seq: m.seq, body: "", deleted: true });
    // deleted is final: edits and reactions are refused, deleting again changes nothing
    expect((await edit(a!.token, conv.id, m.seq, { body: "back" })).status).toBe(409);
    expect((await react(b!.token, conv.id, m.seq, "👍")).status).toBe(409);
    const again = await remove(a!.token, conv.id, m.seq);
    expect([again.status, again.body.message.version]).toEqual([200, 3]);
    expect((await remove(b!.token, conv.id, m.seq)).status).toBe(403);
    expect((await history(b!.token, conv.id)).body.messages.map((x: { deleted: boolean }) => x.deleted)).toEqual([
      true,
    ]);
  });
});

describe("reactions", () => {
  test("on and off, counted per person; repeating changes nothing; only single emoji", async () => {
    const { users, conv } = await group();
    const [a, b, c] = users;
    const m = await send(a!.token, conv.id, "react to me");
    expect((await react(b!.token, conv.id, m.seq, "👍")).body.message.reactions).toEqual([
      { emoji: "👍", userIds: [b!.user.id] },
    ]);
    await react(c!.token, conv.id, m.seq, "👍");
    const unicorn = await react(a!.token, conv.id, m.seq, "🦄");
    expect(unicorn.body.message.reactions).toEqual([
      { emoji: "👍", userIds: [b!.user.id, c!.user.id] },
      { emoji: "🦄", userIds: [a!.user.id] },
    ]);
    expect((await react(a!.token, conv.id, m.seq, "🦄")).body.message.version).toBe(3);
    const off = await react(b!.token, conv.id, m.seq, "👍", false);
    expect(off.body.message.reactions).toEqual([
      { emoji: "👍", userIds: [c!.user.id] },
      { emoji: "🦄", userIds: [a!.user.id] },
    ]);
    for (const emoji of ["🇫🇷", "👍🏽", "1️⃣", "👩‍👩‍👧"])
      expect({ emoji, status: (await react(a!.token, conv.id, m.seq, emoji)).status }).toEqual({ emoji, status: 200 });
    for (const emoji of ["ab", "👍👍", ":)", "", "x".repeat(40)]) {
      const res = await react(a!.token, conv.id, m.seq, emoji);
      expect({ emoji, status: res.status, code: res.body.error.code }).toEqual({
        emoji,
        status: 422,
        code: "validation_failed",
      });
    }
    expect((await changes(a!.token, conv.id)).body.rev).toBe(8);
  });

  test("20 people reacting at once to one message: every reaction is kept, revs 1..20 once each", async () => {
    const { users, conv } = await group(20);
    const m = await send(users[0]!.token, conv.id, "popular");
    const emoji = ["👍", "❤️", "🎉", "😂"];
    const results = await Promise.all(users.map((u, i) => react(u.token, conv.id, m.seq, emoji[i % 4]!)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    const page = await history(users[1]!.token, conv.id);
    const final = page.body.messages[0];
    expect(final.version).toBe(20);
    for (const [i, u] of users.entries())
      expect(final.reactions.find((r: { emoji: string }) => r.emoji === emoji[i % 4]).userIds).toContain(u.user.id);
    const all = await changes(users[2]!.token, conv.id, "?since=0&limit=100");
    expect(all.body.changes.map((c: { rev: number }) => c.rev)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(all.body.changes.map((c: { message: { version: number } }) => c.message.version)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  }, 60_000);
});

describe("catching up", () => {
  test("?since pages through every change in rev order; live frames carry the same changes", async () => {
    const { users, conv } = await group();
    const [a, b] = users;
    const sub = await subscriber([userChannel(b!.user.id)]);
    try {
      const ms = [];
      for (let i = 0; i < 5; i++) ms.push(await send(a!.token, conv.id, `m${i}`));
      for (const m of ms) await edit(a!.token, conv.id, m.seq, { body: `${m.body}!` });
      for (const m of ms) await react(b!.token, conv.id, m.seq, "🎉");
      const first = await changes(b!.token, conv.id, "?since=0&limit=4");
      expect(first.body.changes.map((c: { rev: number }) => c.rev)).toEqual([1, 2, 3, 4]);
      expect([first.body.hasMore, first.body.rev]).toEqual([true, 4]);
      const rest = await changes(b!.token, conv.id, "?since=4&limit=100");
      expect(rest.body.changes.map((c: { rev: number }) => c.rev)).toEqual([5, 6, 7, 8, 9, 10]);
      expect([rest.body.hasMore, rest.body.rev]).toEqual([false, 10]);
      await waitFor(
        "ten change frames",
        () => sub.events(userChannel(b!.user.id)).filter(isChange).length === 10,
        5000,
      );
      const live = sub
        .events(userChannel(b!.user.id))
        .filter(isChange)
        .map((e) => e.frame.change);
      expect(live).toEqual([...first.body.changes, ...rest.body.changes]);
      for (const q of ["?since=-1", "?limit=0", "?limit=101", "?since=x"])
        expect({ q, status: (await changes(b!.token, conv.id, q)).status }).toEqual({ q, status: 422 });
    } finally {
      await sub.close();
    }
  });

  test("a non-member gets 404 on every change route and learns nothing", async () => {
    const { users, conv } = await group();
    const outsider = await api.register("chout");
    const m = await send(users[0]!.token, conv.id, "private words");
    for (const res of [
      await edit(outsider.token, conv.id, m.seq, { body: "x" }),
      await remove(outsider.token, conv.id, m.seq),
      await react(outsider.token, conv.id, m.seq, "👍"),
      await changes(outsider.token, conv.id, "?since=0"),
    ]) {
      expect([res.status, res.body.error.code]).toEqual([404, "not_found"]);
      expect(JSON.stringify(res.body)).not.toContain("private");
    }
    expect(await api.deps.db.Change.countDocuments({ conversationId: conv.id })).toBe(0);
  });
});

test("edits and reactions are rate limited per user (429 with Retry-After)", async () => {
  const limited = await startTestApi("changes_rl", { changeRateMax: 3, changeRateWindowSeconds: 30 });
  try {
    const [a, b] = [await limited.register("crl"), await limited.register("crl")];
    const conv = (
      await limited.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })
    ).body.conversation;
    await limited.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      body: { body: "x", clientId: "x" },
    });
    const toggle = (on: boolean) =>
      limited.call("PUT", `/api/conversations/${conv.id}/messages/1/reactions`, {
        token: a.token,
        body: { emoji: "👍", on },
      });
    expect([(await toggle(true)).status, (await toggle(false)).status, (await toggle(true)).status]).toEqual([
      200, 200, 200,
    ]);
    const refused = await toggle(false);
    expect([refused.status, refused.body.error.code]).toEqual([429, "rate_limited"]);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const other = await limited.call("PUT", `/api/conversations/${conv.id}/messages/1/reactions`, {
      token: b.token,
      body: { emoji: "👍", on: true },
    });
    expect(other.status).toBe(200);
  } finally {
    await limited.stop();
  }
});

// biome-ignore lint/suspicious/noExplicitAny: parsed fan-out events of every type
const isChange = (e: any) => e.frame.type === "change";
