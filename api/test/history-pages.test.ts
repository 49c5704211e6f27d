/**
 * History read by page keys (messages/history-reader.ts): new messages are found through their
 * small pages alone, and messages written before page keys existed (no `page`) are still read
 * in full, through their blocks, alone or mixed with newer ones in one page.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type mongo, Types } from "mongoose";
import type { Db } from "../src/libs/db.ts";
import { HistoryReader } from "../src/modules/messages/history-reader.ts";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
let a: Awaited<ReturnType<TestApi["register"]>>;
let convId: string;
const OLD = 40;
const ALL = 90;

const page = (query = "") => api.call("GET", `/api/conversations/${convId}/messages${query}`, { token: a.token });
const seqsOf = (body: { messages: { seq: number }[] }) => body.messages.map((m) => m.seq);
const span = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  api = await startTestApi("history_pages", { sendRateMax: 10_000 });
  a = await api.register("hp");
  const b = await api.register("hq");
  convId = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
    .conversation.id;
  for (let i = 1; i <= ALL; i++) {
    const res = await api.call("POST", `/api/conversations/${convId}/messages`, {
      token: i % 2 ? a.token : b.token,
      body: { body: `message ${i}`, clientId: `hp-${i}` },
    });
    expect(res.status).toBe(201);
  }
  // the first OLD as an earlier version of the api wrote them: no page key
  await api.deps.db.Message.collection.updateMany(
    { conversationId: new Types.ObjectId(convId), seq: { $lte: OLD } },
    { $unset: { page: "" } },
  );
});
afterAll(() => api.stop());

test("pages of old, new and mixed messages are complete and in order", async () => {
  const newest = await page();
  expect(seqsOf(newest.body)).toEqual(span(ALL - 49, ALL));
  expect(newest.body.hasMore).toBe(true);
  // below the newest page: the old messages alone
  const older = await page(`?before=${ALL - 49}`);
  expect(seqsOf(older.body)).toEqual(span(1, ALL - 50));
  expect(older.body.hasMore).toBe(false);
  // old and new in one page, both ways
  expect(seqsOf((await page(`?after=${OLD - 5}&limit=10`)).body)).toEqual(span(OLD - 4, OLD + 5));
  expect(seqsOf((await page(`?before=${OLD + 6}&limit=10`)).body)).toEqual(span(OLD - 4, OLD + 5));
  // catching up to the end
  const tail = await page(`?after=${ALL - 3}`);
  expect(seqsOf(tail.body)).toEqual(span(ALL - 2, ALL));
  expect(tail.body.hasMore).toBe(false);
});

test("an old message can still be reacted to (the message is found by seq)", async () => {
  const res = await api.call("PUT", `/api/conversations/${convId}/messages/3/reactions`, {
    token: a.token,
    body: { emoji: "👍", on: true },
  });
  expect(res.status).toBeLessThan(300);
  const msg = (await page("?after=2&limit=1")).body.messages[0];
  expect(msg.seq).toBe(3);
  expect(msg.reactions).toEqual([{ emoji: "👍", userIds: [a.user.id] }]);
});

/** The reader over a collection that records the key each query used. */
function recordingReader(known: number) {
  const used: string[] = [];
  const collection = api.deps.db.Message.collection;
  const recorded = new Proxy(collection, {
    get(target, prop, receiver) {
      if (prop === "find")
        return (filter: mongo.Filter<mongo.Document>) => {
          used.push(Object.keys(filter).join(","));
          return target.find(filter);
        };
      return Reflect.get(target, prop, receiver);
    },
  }) as mongo.Collection;
  const db = { Message: { collection: recorded } } as unknown as Pick<Db, "Message">;
  return { reader: new HistoryReader(db, convId, known), used };
}

test("new messages are read by page alone; old ones fall back to their blocks", async () => {
  const fresh = recordingReader(ALL);
  expect((await fresh.reader.range(ALL - 49, ALL)).map((m) => m.seq)).toEqual(span(ALL - 49, ALL));
  expect(fresh.used.every((k) => k === "page")).toBe(true);
  // 41–90 spans pages 1 (26–50), 2, 3 (76–100): three lookups of at most 25
  expect(fresh.used).toHaveLength(3);
  expect(await fresh.reader.head(ALL - 20)).toBe(ALL);

  const old = recordingReader(ALL);
  expect((await old.reader.range(1, 30)).map((m) => m.seq)).toEqual(span(1, 30));
  expect(old.used).toContain("block");
});

test("a catch-up past the head reads one page, not every page its range spans; a full page reads on", async () => {
  // after the head: 91–191 spans pages 3 (76–100) to 7; page 3 ends short at 90, so nothing is above it
  const atHead = recordingReader(ALL);
  expect(await atHead.reader.range(ALL + 1, ALL + 101)).toEqual([]);
  expect(atHead.used).toEqual(["page"]);
  const behind = recordingReader(ALL);
  expect((await behind.reader.range(ALL - 3, ALL + 97)).map((m) => m.seq)).toEqual(span(ALL - 3, ALL));
  expect(behind.used).toHaveLength(1);
  // what the reader knows to exist reaches past the first page: every page is read at once, as before
  const known = recordingReader(ALL);
  expect((await known.reader.range(45, 90)).map((m) => m.seq)).toEqual(span(45, 90));
  expect(known.used).toHaveLength(3);
  // a lagging idea of the head (a cache): the first page is full, so the reader reads on and finds them all
  const lagging = recordingReader(60);
  expect((await lagging.reader.range(51, 151)).map((m) => m.seq)).toEqual(span(51, ALL));
  expect(lagging.used.length).toBeGreaterThan(1);
  // through the api, the same: the tail and the empty catch-up are complete
  expect(seqsOf((await page(`?after=${ALL - 10}&limit=100`)).body)).toEqual(span(ALL - 9, ALL));
  expect(seqsOf((await page(`?after=${ALL}&limit=100`)).body)).toEqual([]);
});
