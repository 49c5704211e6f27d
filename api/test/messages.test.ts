/** Messages: seq without gaps under concurrency, idempotent clientId, history paging, limits, read positions. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { HTTP_BODY_MAX_BYTES, MESSAGE_BODY_MAX } from "@parley/contract/limits";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("messages", { sendRateMax: 10_000 });
});
afterAll(() => api.stop());

async function pair() {
  const a = await api.register("ma");
  const b = await api.register("mb");
  const conv = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
    .conversation;
  return { a, b, conv };
}
const send = (token: string, convId: string, body: string, clientId: string) =>
  api.call("POST", `/api/conversations/${convId}/messages`, { token, body: { body, clientId } });
const page = (token: string, convId: string, query = "") =>
  api.call("GET", `/api/conversations/${convId}/messages${query}`, { token });

describe("send", () => {
  test("201 with the message (body trimmed); the same clientId again is 200 with the original", async () => {
    const { a, conv } = await pair();
    const first = await send(a.token, conv.id, "  hello  ", "c-1");
    expect(first.status).toBe(201);
    expect(first.body.message).toMatchObject({
      conversationId: conv.id,
      seq: 1,
      senderId: a.user.id,
      body: "hello",
      clientId: "c-1",
    });
    const again = await send(a.token, conv.id, "different text", "c-1");
    expect(again.status).toBe(200);
    expect(again.body.message).toEqual(first.body.message);
    expect(await api.deps.db.Message.countDocuments({ conversationId: conv.id })).toBe(1);
  });

  test("50 concurrent sends from both members give seq 1..50 exactly", async () => {
    const { a, b, conv } = await pair();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(i % 2 ? a.token : b.token, conv.id, `m${i}`, `k${i}`)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(201));
    expect(results.map((r) => r.body.message.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const all = await page(a.token, conv.id, "?after=0&limit=100");
    expect(all.body.messages.map((m: { seq: number }) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // lastSeq is bookkeeping raised after each insert; on FerretDB (no atomic update) its last
    // confirmation runs in the background: wait for that work, then it must be exact
    await api.deps.bookkeeper.settle();
    const view = await api.call("GET", `/api/conversations/${conv.id}`, { token: a.token });
    expect(view.body.conversation.lastSeq).toBe(50);
  }, 60_000);

  test("20 concurrent retries of one clientId give exactly one message", async () => {
    const { a, conv } = await pair();
    const results = await Promise.all(Array.from({ length: 20 }, () => send(a.token, conv.id, "once", "retry-me")));
    expect(results.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(results.filter((r) => r.status === 201).length).toBe(1);
    expect(new Set(results.map((r) => r.body.message.id)).size).toBe(1);
    expect(await api.deps.db.Message.countDocuments({ conversationId: conv.id })).toBe(1);
  }, 60_000);

  test("the same clientId from two senders is two messages", async () => {
    const { a, b, conv } = await pair();
    expect((await send(a.token, conv.id, "x", "same")).status).toBe(201);
    expect((await send(b.token, conv.id, "y", "same")).status).toBe(201);
  });

  test("empty after trimming 422; over 4000 characters 413; bad clientId 422 with its path", async () => {
    const { a, conv } = await pair();
    const empty = await send(a.token, conv.id, "   \n\t ", "e1");
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe("validation_failed");
    expect((await send(a.token, conv.id, `  ${"x".repeat(MESSAGE_BODY_MAX)}  `, "e2")).status).toBe(201);
    const long = await send(a.token, conv.id, "x".repeat(MESSAGE_BODY_MAX + 1), "e3");
    expect(long.status).toBe(413);
    expect(long.body.error.code).toBe("payload_too_large");
    const badClient = await send(a.token, conv.id, "hi", "has space");
    expect(badClient.status).toBe(422);
    expect(badClient.body.error.details.map((d: { path: string }) => d.path)).toContain("/clientId");
    expect(await api.deps.db.Message.countDocuments({ conversationId: conv.id })).toBe(1);
  });

  test("length counts characters (code points), not UTF-16 units: 3000 emoji 201, 4001 code points 413", async () => {
    const { a, conv } = await pair();
    const emoji = "\u{1F600}".repeat(3000);
    const ok = await send(a.token, conv.id, emoji, "emoji1");
    expect(ok.status).toBe(201);
    expect(ok.body.message.body).toBe(emoji);
    expect((await send(a.token, conv.id, "\u{1F600}".repeat(MESSAGE_BODY_MAX), "emoji2")).status).toBe(201);
    const over = await send(a.token, conv.id, `${"\u{1F600}".repeat(MESSAGE_BODY_MAX)}x`, "emoji3");
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe("payload_too_large");
  });

  test("HTTP bodies over 64 KiB are 413: by Content-Length and by the bytes actually sent (chunked)", async () => {
    const { a, conv } = await pair();
    const big = JSON.stringify({ body: "x".repeat(HTTP_BODY_MAX_BYTES), clientId: "big" });
    const byLength = await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      raw: big,
      headers: { "content-type": "application/json" },
    });
    expect(byLength.status).toBe(413);
    expect(byLength.body.error.code).toBe("payload_too_large");
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const res = await api.app.handle(
      new Request(`http://localhost/api/conversations/${conv.id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
        body: stream,
      }),
    );
    expect(res.headers.get("content-length")).not.toBe(String(bytes.length));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    expect(await api.deps.db.Message.countDocuments({ conversationId: conv.id })).toBe(0);
  });

  test("malformed JSON is 422 validation_failed", async () => {
    const { a, conv } = await pair();
    const res = await api.call("POST", `/api/conversations/${conv.id}/messages`, {
      token: a.token,
      raw: "{body:",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
  });

  test("sending is rate limited per user (429 with Retry-After), replays are not counted", async () => {
    const limited = await startTestApi("messages_rl", { sendRateMax: 3, sendRateWindowSeconds: 30 });
    try {
      const a = await limited.register("rl");
      const b = await limited.register("rl");
      const conv = (
        await limited.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })
      ).body.conversation;
      const go = (clientId: string) =>
        limited.call("POST", `/api/conversations/${conv.id}/messages`, {
          token: a.token,
          body: { body: "hi", clientId },
        });
      expect([(await go("1")).status, (await go("2")).status, (await go("3")).status]).toEqual([201, 201, 201]);
      expect((await go("1")).status).toBe(200);
      const fourth = await go("4");
      expect(fourth.status).toBe(429);
      expect(fourth.body.error.code).toBe("rate_limited");
      expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(0);
      // another user is not affected
      expect(
        (
          await limited.call("POST", `/api/conversations/${conv.id}/messages`, {
            token: b.token,
            body: { body: "hi", clientId: "b1" },
          })
        ).status,
      ).toBe(201);
    } finally {
      await limited.stop();
    }
  });
});

describe("history", () => {
  test("after / before / limit with hasMore, ascending seq; default page is the newest 50", async () => {
    const { a, b, conv } = await pair();
    for (let i = 1; i <= 60; i++) await send(i % 2 ? a.token : b.token, conv.id, `n${i}`, `h${i}`);
    const seqs = (r: { body: { messages: { seq: number }[] } }) => r.body.messages.map((m) => m.seq);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

    const latest = await page(b.token, conv.id);
    expect(latest.status).toBe(200);
    expect(seqs(latest)).toEqual(range(11, 60));
    expect(latest.body.hasMore).toBe(true);

    const after = await page(b.token, conv.id, "?after=55");
    expect(seqs(after)).toEqual(range(56, 60));
    expect(after.body.hasMore).toBe(false);
    const afterLimited = await page(b.token, conv.id, "?after=10&limit=5");
    expect(seqs(afterLimited)).toEqual(range(11, 15));
    expect(afterLimited.body.hasMore).toBe(true);

    const before = await page(b.token, conv.id, "?before=11&limit=4");
    expect(seqs(before)).toEqual(range(7, 10));
    expect(before.body.hasMore).toBe(true);
    const oldest = await page(b.token, conv.id, "?before=4&limit=10");
    expect(seqs(oldest)).toEqual([1, 2, 3]);
    expect(oldest.body.hasMore).toBe(false);
    expect((await page(b.token, conv.id, "?after=60")).body).toEqual({ messages: [], hasMore: false, rev: 0 });
  }, 60_000);

  test("invalid paging is 422 with the field path", async () => {
    const { a, conv } = await pair();
    for (const [q, path] of [
      ["?limit=0", "/limit"],
      ["?limit=101", "/limit"],
      ["?limit=abc", "/limit"],
      ["?after=-1", "/after"],
      ["?before=0", "/before"],
    ] as const) {
      const res = await page(a.token, conv.id, q);
      expect({ q, status: res.status }).toEqual({ q, status: 422 });
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await page(a.token, conv.id, "?after=1&before=5")).status).toBe(422);
  });
});

describe("read position", () => {
  test("advances, never moves back (204, unchanged), and is clamped to lastSeq", async () => {
    const { a, b, conv } = await pair();
    for (let i = 1; i <= 3; i++) await send(a.token, conv.id, `r${i}`, `r${i}`);
    const read = (seq: number) =>
      api.call("POST", `/api/conversations/${conv.id}/read`, { token: b.token, body: { seq } });
    const state = async () =>
      (await api.call("GET", `/api/conversations/${conv.id}`, { token: b.token })).body.conversation;
    expect(await state()).toMatchObject({ lastSeq: 3, readSeq: 0, unread: 3 });
    expect((await read(2)).status).toBe(204);
    expect(await state()).toMatchObject({ readSeq: 2, unread: 1 });
    expect((await read(1)).status).toBe(204);
    expect(await state()).toMatchObject({ readSeq: 2, unread: 1 });
    expect((await read(99)).status).toBe(204);
    expect(await state()).toMatchObject({ readSeq: 3, unread: 0 });
    const stored = await api.deps.db.Read.findOne({ conversationId: conv.id, userId: b.user.id }).lean();
    expect(stored?.seq).toBe(3);
    expect(
      (await api.call("POST", `/api/conversations/${conv.id}/read`, { token: b.token, body: { seq: -1 } })).status,
    ).toBe(422);
    expect(
      (await api.call("POST", `/api/conversations/${conv.id}/read`, { token: b.token, body: { seq: 1.5 } })).status,
    ).toBe(422);
  });

  test("concurrent read updates end at the highest one (3 rounds, 20 racing positions each)", async () => {
    for (let round = 0; round < 3; round++) {
      const { a, b, conv } = await pair();
      for (let i = 1; i <= 20; i++) await send(a.token, conv.id, `c${i}`, `c${i}`);
      const order = Array.from({ length: 20 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
      await Promise.all(
        order.map((seq) => api.call("POST", `/api/conversations/${conv.id}/read`, { token: b.token, body: { seq } })),
      );
      await api.deps.bookkeeper.settle(); // the background re-checks that repair a lowered position
      const stored = await api.deps.db.Read.findOne({ conversationId: conv.id, userId: b.user.id }).lean();
      expect({ round, seq: stored?.seq }).toEqual({ round, seq: 20 });
    }
  }, 60_000);
});
