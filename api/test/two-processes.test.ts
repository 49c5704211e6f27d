/**
 * The send path's guarantees with two real api processes on one database and one Redis, as in
 * a deployment with several api replicas: each process numbers sends on its own, and only the
 * unique indexes arbitrate between them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthResponse, Conversation, Message } from "@parley/contract";
import { startStack, type Stack } from "../../scripts/lib/stack.ts";
import { testMongoUrl, testRedisUrl } from "./helpers/env.ts";
import { waitFor } from "../../scripts/lib/ports.ts";

const SECRET = "two-processes-secret-0123456789-abcdef";
const logs = mkdtempSync(join(tmpdir(), "parley-two-api-"));
const mongoUrl = testMongoUrl("two_processes");
let first: Stack;
let second: Stack;
let urls: string[];

beforeAll(async () => {
  const common = {
    mongoUrl,
    redisUrl: testRedisUrl,
    jwtSecret: SECRET,
    replicas: 0,
    apiEnv: { SEND_RATE_MAX: "100000", CHANGE_RATE_MAX: "100000" },
  };
  for (const name of ["a", "b"]) mkdirSync(join(logs, name));
  [first, second] = await Promise.all([
    startStack({ ...common, logs: join(logs, "a") }),
    startStack({ ...common, logs: join(logs, "b") }),
  ]);
  urls = [first.apiUrl, second.apiUrl];
}, 60_000);
afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
  rmSync(logs, { recursive: true, force: true });
});

async function call<T>(base: string, method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

let n = 0;
async function pair() {
  const register = async () =>
    (
      await call<AuthResponse>(urls[n % 2]!, "POST", "/api/auth/register", undefined, {
        username: `two_${process.pid}_${++n}`,
        password: "correct horse battery",
      })
    ).body;
  const a = await register();
  const b = await register();
  const conv = (
    await call<{ conversation: Conversation }>(urls[0]!, "POST", "/api/conversations", a.token, {
      memberIds: [b.user.id],
    })
  ).body.conversation;
  return { a, b, conv };
}

test("60 concurrent sends through two api processes give seq 1..60 exactly once, and lastSeq 60", async () => {
  const { a, b, conv } = await pair();
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      call<{ message: Message }>(
        urls[i % 2]!,
        "POST",
        `/api/conversations/${conv.id}/messages`,
        i % 3 ? a.token : b.token,
        {
          body: `m${i}`,
          clientId: `k${i}`,
        },
      ),
    ),
  );
  expect(results.map((r) => r.status)).toEqual(Array(60).fill(201));
  const seqs = results.map((r) => r.body.message.seq).sort((x, y) => x - y);
  expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  // each process answers the whole history the same way, no gap, no repeat
  for (const base of urls) {
    const page = await call<{ messages: Message[] }>(
      base,
      "GET",
      `/api/conversations/${conv.id}/messages?after=0&limit=100`,
      a.token,
    );
    expect(page.body.messages.map((m) => m.seq)).toEqual(seqs);
  }
  // lastSeq is bookkeeping written after the answers: both processes converge on 60
  for (const base of urls) {
    await waitFor(
      "lastSeq 60",
      async () => {
        const view = await call<{ conversation: Conversation }>(base, "GET", `/api/conversations/${conv.id}`, b.token);
        return view.body.conversation.lastSeq === 60 && view.body.conversation.lastMessage?.seq === 60;
      },
      10_000,
    );
  }
}, 60_000);

test("a clientId retried through the other process, and 10 concurrent retries through both, give one message", async () => {
  const { a, conv } = await pair();
  const path = `/api/conversations/${conv.id}/messages`;
  const original = await call<{ message: Message }>(urls[0]!, "POST", path, a.token, {
    body: "once",
    clientId: "same",
  });
  expect(original.status).toBe(201);
  const retried = await call<{ message: Message }>(urls[1]!, "POST", path, a.token, {
    body: "changed",
    clientId: "same",
  });
  expect(retried.status).toBe(200);
  expect(retried.body.message).toEqual(original.body.message);

  const racing = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      call<{ message: Message }>(urls[i % 2]!, "POST", path, a.token, { body: "r", clientId: "race" }),
    ),
  );
  expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
  expect(racing.filter((r) => r.status === 200)).toHaveLength(9);
  expect(new Set(racing.map((r) => r.body.message.id)).size).toBe(1);
  const page = await call<{ messages: Message[] }>(urls[1]!, "GET", `${path}?after=0`, a.token);
  expect(page.body.messages.map((m) => [m.seq, m.clientId])).toEqual([
    [1, "same"],
    [2, "race"],
  ]);
});

test("read positions marked concurrently through both processes end at the highest and never move back", async () => {
  const { a, b, conv } = await pair();
  for (let i = 0; i < 30; i++) {
    await call(urls[i % 2]!, "POST", `/api/conversations/${conv.id}/messages`, a.token, {
      body: `r${i}`,
      clientId: `r${i}`,
    });
  }
  const readSeq = async (base: string) =>
    (await call<{ conversation: Conversation }>(base, "GET", `/api/conversations/${conv.id}`, b.token)).body
      .conversation.readSeq;
  let highest = 0;
  for (let round = 0; round < 3; round++) {
    const marks = Array.from({ length: 20 }, () => 1 + Math.floor(Math.random() * 30));
    highest = Math.max(highest, ...marks);
    const answers = await Promise.all(
      marks.map((seq, i) => call(urls[i % 2]!, "POST", `/api/conversations/${conv.id}/read`, b.token, { seq })),
    );
    expect(answers.every((r) => r.status === 204)).toBe(true);
    // both processes see the highest, once the cross-process re-checks have run
    for (const base of urls) await waitFor(`readSeq ${highest}`, async () => (await readSeq(base)) === highest, 10_000);
  }
  expect(await readSeq(urls[0]!)).toBe(highest);
}, 60_000);

test("30 reactions at once through both processes: none is lost, revs 1..30 once each, in order", async () => {
  const { a, b, conv } = await pair();
  const path = `/api/conversations/${conv.id}/messages`;
  for (let i = 0; i < 3; i++) await call(urls[0]!, "POST", path, a.token, { body: `m${i}`, clientId: `rx${i}` });
  const emoji = ["👍", "❤️", "🎉", "😂", "😮"];
  // each of the two people sets five different reactions on each of three messages, at once
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      call(urls[i % 2]!, "PUT", `${path}/${1 + (i % 3)}/reactions`, i < 15 ? a.token : b.token, {
        emoji: emoji[Math.floor(i / 3) % 5],
        on: true,
      }),
    ),
  );
  expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
  for (const base of urls) {
    const page = await call<{ messages: Message[]; rev: number }>(base, "GET", `${path}?after=0`, b.token);
    expect(page.body.rev).toBe(30);
    for (const m of page.body.messages) {
      expect(m.reactions.map((r) => r.emoji).sort()).toEqual([...emoji].sort());
      for (const r of m.reactions) expect(r.userIds.sort()).toEqual([a.user.id, b.user.id].sort());
    }
    const changes = await call<{ changes: { rev: number }[] }>(
      base,
      "GET",
      `/api/conversations/${conv.id}/changes?since=0`,
      a.token,
    );
    expect(changes.body.changes.map((c) => c.rev)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  }
}, 60_000);
