/**
 * Fan-out: every committed change reaches Redis on each member's user channel, after the
 * write, and never a non-member's channel. Checked with a real ioredis subscriber.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { userChannel } from "@parley/contract/frames";
import { parseMark } from "@parley/contract/marks";
import { readMarks } from "@parley/kit/marks";
import { waitFor } from "../../scripts/lib/ports.ts";
import { startTestApi, subscriber, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("events", { sendRateMax: 10_000 });
});
afterAll(() => api.stop());

test("conversation, message and read events arrive on every member's channel and not on a non-member's", async () => {
  const [a, b, c, outsider] = [
    await api.register("ea"),
    await api.register("eb"),
    await api.register("ec"),
    await api.register("eo"),
  ];
  const members = [a, b, c];
  const sub = await subscriber([...members, outsider].map((u) => userChannel(u.user.id)));
  try {
    const started = Date.now();
    const conv = (
      await api.call("POST", "/api/conversations", {
        token: a.token,
        body: { memberIds: [b.user.id, c.user.id], title: "events" },
      })
    ).body.conversation;
    const sent = (
      await api.call("POST", `/api/conversations/${conv.id}/messages`, {
        token: b.token,
        body: { body: "hello all", clientId: "ev1" },
      })
    ).body.message;
    expect(
      (await api.call("POST", `/api/conversations/${conv.id}/read`, { token: c.token, body: { seq: 1 } })).status,
    ).toBe(204);

    const ofType = (id: string, type: string) => sub.events(userChannel(id)).filter((e) => e.frame.type === type);
    await waitFor("read events", () => members.every((m) => ofType(m.user.id, "read").length === 1), 5000);

    for (const m of members) {
      const conversation = ofType(m.user.id, "conversation");
      expect(conversation).toHaveLength(1);
      expect(conversation[0].frame.conversation).toMatchObject({
        id: conv.id,
        kind: "group",
        title: "events",
        readSeq: 0,
        unread: 0,
      });
      const message = ofType(m.user.id, "message");
      expect(message).toHaveLength(1); // the sender too: their other tabs
      expect(message[0].frame.message).toEqual(sent);
      expect(message[0].committedAt).toBeGreaterThanOrEqual(started);
      expect(message[0].committedAt).toBeLessThanOrEqual(Date.now());
      expect(ofType(m.user.id, "read")[0].frame).toMatchObject({
        type: "read",
        conversationId: conv.id,
        userId: c.user.id,
        seq: 1,
      });
    }
    // marks (contract/marks): every event carries one, numbered by this api process in the
    // order it published them, and Redis holds each member's newest, as `ready` will read it
    const marksOf = (id: string) => sub.events(userChannel(id)).map((e) => parseMark(e.frame.mark));
    for (const m of members) {
      const marks = marksOf(m.user.id);
      expect(marks.every((x) => x !== null)).toBe(true);
      const publishers = new Set(marks.map((x) => x!.publisher));
      expect(publishers.size).toBe(1);
      const numbers = marks.map((x) => x!.n);
      expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
      expect(new Set(numbers).size).toBe(numbers.length);
      const recorded = await readMarks(api.deps.redis, m.user.id);
      expect(recorded?.by).toEqual({ [[...publishers][0]!]: numbers.at(-1)! });
    }
    // an outsider was sent nothing: nothing is recorded for them
    expect((await readMarks(api.deps.redis, outsider.user.id))?.by).toEqual({});
    // an idempotent replay publishes the very same event again (its first publish may have been
    // lost: the retry repairs that; clients drop the copy); a read that does not advance, nothing
    await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: b.token,
      body: { body: "hello all", clientId: "ev1" },
    });
    await api.call("POST", `/api/conversations/${conv.id}/read`, { token: c.token, body: { seq: 1 } });
    await waitFor("the replayed event", () => ofType(a.user.id, "message").length === 2, 5000);
    await Bun.sleep(300);
    expect(ofType(a.user.id, "message").map((e) => e.frame.message)).toEqual([sent, sent]);
    expect(ofType(a.user.id, "read")).toHaveLength(1);
    // the event reflects a committed write: the message is readable when its event arrives
    const history = await api.call("GET", `/api/conversations/${conv.id}/messages?after=0`, { token: a.token });
    expect(history.body.messages).toEqual([sent]);
    expect(sub.events(userChannel(outsider.user.id))).toEqual([]);
  } finally {
    await sub.close();
  }
});

test("a direct chat created twice announces itself once", async () => {
  const [a, b] = [await api.register("da"), await api.register("db")];
  const sub = await subscriber([userChannel(a.user.id), userChannel(b.user.id)]);
  try {
    await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } });
    await api.call("POST", "/api/conversations", { token: b.token, body: { memberIds: [a.user.id] } });
    await waitFor("conversation event", () => sub.events(userChannel(b.user.id)).length >= 1, 5000);
    await Bun.sleep(300);
    expect(sub.events(userChannel(a.user.id))).toHaveLength(1);
    expect(sub.events(userChannel(b.user.id))).toHaveLength(1);
  } finally {
    await sub.close();
  }
});
