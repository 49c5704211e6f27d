/**
 * Every query the api makes is served by an index: the test drives every route that reads,
 * records each query mongoose sends (its debug hook), and asks the server to explain it. On
 * the embedded FerretDB-on-PostgreSQL the plan must scan an index and never the table; on
 * MongoDB it must not be a COLLSCAN. The same mongoose index definitions serve both.
 *
 * The embedded SQLite engine cannot pass this (it indexes _id only): that is one reason it is
 * not the default (bench/results/db-engines.md), and why the test says so rather than runs.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BLOCK_SIZE } from "../src/libs/collections.ts";
import { startTestApi, type TestApi } from "./helpers/app.ts";

type Query = { collection: string; method: string; filter: Record<string, unknown> };
/** the driver methods whose first argument is a filter */
const QUERIES = ["find", "findOne", "countDocuments", "updateOne", "updateMany", "deleteOne", "deleteMany"];

const kind = process.env.TEST_MONGO_KIND ?? "external";
let api: TestApi;
const queries: Query[] = [];

beforeAll(async () => {
  api = await startTestApi("indexes", { sendRateMax: 10_000 });
  api.deps.db.conn.set("debug", (collection: string, method: string, ...args: unknown[]) => {
    const filter = args[0];
    if (QUERIES.includes(method) && filter) {
      queries.push({ collection, method, filter: filter as Record<string, unknown> });
    }
  });
});
afterAll(() => api.stop());

/** Whether the explained plan reads through an index, and a short description of it. */
function usesIndex(plan: unknown): { ok: boolean; how: string } {
  const text = JSON.stringify(plan);
  if (kind.startsWith("ferretdb")) {
    const scans = [...text.matchAll(/"Node Type":"([^"]+)"/g)].map((m) => m[1]!);
    const indexes = [...text.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]!);
    return {
      ok: !scans.includes("Seq Scan") && indexes.length > 0,
      how: `${scans.join(" > ")} on ${indexes.join(", ")}`,
    };
  }
  const stages = [...text.matchAll(/"stage":"([A-Z_]+)"/g)].map((m) => m[1]!);
  return { ok: !stages.includes("COLLSCAN"), how: stages.join(" > ") };
}

test.skipIf(kind === "ferretdb-sqlite")(
  "every query of every reading route is served by an index",
  async () => {
    const [a, b, c] = [await api.register("ixa"), await api.register("ixb"), await api.register("ixc")];
    const direct = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } }))
      .body.conversation;
    const group = (
      await api.call("POST", "/api/conversations", { token: b.token, body: { memberIds: [a.user.id, c.user.id] } })
    ).body.conversation;
    // more than a history block, so paging crosses blocks
    for (let i = 1; i <= BLOCK_SIZE + 20; i++) {
      const res = await api.call("POST", `/api/conversations/${direct.id}/messages`, {
        token: i % 2 ? a.token : b.token,
        body: { body: `m${i}`, clientId: `ix-${i}` },
      });
      expect(res.status).toBe(201);
    }
    const inGroup = await api.call("POST", `/api/conversations/${group.id}/messages`, {
      token: b.token,
      body: { body: `hello group, @${a.user.username}`, clientId: "ix-g" },
    });
    expect(inGroup.status).toBe(201);
    // changes in both history blocks, so pages fold versions in
    for (const seq of [3, 111]) {
      const edited = await api.call("PATCH", `/api/conversations/${direct.id}/messages/${seq}`, {
        token: a.token,
        body: { body: `edited ${seq}` },
      });
      expect(edited.status).toBe(200);
    }
    await api.deps.bookkeeper.settle();
    queries.length = 0;

    // the second page of the list (a cursor: activity time and id of the last one shown)
    const firstPage = await api.call("GET", "/api/conversations?limit=1", { token: a.token });
    expect(typeof firstPage.body.nextCursor).toBe("string");
    queries.length = 0;

    const calls: [string, string, string][] = [
      ["GET", "/api/conversations", a.token],
      ["GET", `/api/conversations?limit=1&cursor=${firstPage.body.nextCursor}`, a.token],
      ["GET", `/api/conversations/${group.id}`, a.token],
      ["GET", `/api/conversations/${direct.id}/messages`, a.token],
      ["GET", `/api/conversations/${direct.id}/messages?before=60&limit=100`, a.token],
      ["GET", `/api/conversations/${direct.id}/messages?after=90&limit=20`, a.token],
      ["GET", `/api/conversations/${direct.id}/changes?since=0`, b.token],
      ["GET", `/api/conversations/${direct.id}/changes?since=1&limit=1`, b.token],
      ["GET", `/api/users?q=${a.user.username.slice(0, 4)}`, b.token],
      ["GET", "/api/users", b.token],
      ["GET", "/api/me", c.token],
    ];
    for (const [method, path, token] of calls) expect((await api.call(method, path, { token })).status).toBe(200);
    // a send with a fresh api cache (membership and head read from the database), a replay, a read mark
    const fresh = await startTestApi("indexes_fresh", { mongoUrl: api.config.mongoUrl });
    try {
      fresh.deps.db.conn.set("debug", (collection: string, method: string, ...args: unknown[]) => {
        if (args[0] && method !== "insertMany")
          queries.push({ collection, method, filter: args[0] as Record<string, unknown> });
      });
      const send = (clientId: string) =>
        fresh.call("POST", `/api/conversations/${direct.id}/messages`, {
          token: a.token,
          body: { body: "x", clientId },
        });
      expect((await send("ix-fresh")).status).toBe(201);
      expect((await send("ix-fresh")).status).toBe(200);
      expect((await send("ix-1")).status).toBe(200);
      const reply = await fresh.call("POST", `/api/conversations/${direct.id}/messages`, {
        token: b.token,
        body: { body: "a reply", clientId: "ix-reply", replyTo: 2 },
      });
      expect(reply.status).toBe(201);
      const read = await fresh.call("POST", `/api/conversations/${group.id}/read`, {
        token: a.token,
        body: { seq: 1 },
      });
      expect(read.status).toBe(204);
      // changes of messages: a reaction, an edit, a delete (which empties earlier versions)
      const changes: [string, string, unknown][] = [
        ["PUT", `/api/conversations/${direct.id}/messages/5/reactions`, { emoji: "👍", on: true }],
        ["PATCH", `/api/conversations/${direct.id}/messages/5`, { body: "edited again" }],
        ["DELETE", `/api/conversations/${direct.id}/messages/5`, undefined],
      ];
      for (const [method, path, body] of changes)
        expect((await fresh.call(method, path, { token: a.token, body })).status).toBe(200);
      // the group: muted, renamed, joined by someone, left by someone
      const groupCalls: [string, string, unknown, string][] = [
        ["PUT", `/api/conversations/${group.id}/mute`, { muted: true }, a.token],
        ["PATCH", `/api/conversations/${group.id}`, { title: "indexed" }, b.token],
        ["POST", `/api/conversations/${group.id}/leave`, undefined, c.token],
        ["POST", `/api/conversations/${group.id}/members`, { memberIds: [c.user.id] }, b.token],
      ];
      for (const [method, path, body, token] of groupCalls)
        expect(
          (await fresh.call(method, path, { token, body, headers: { "content-type": "application/json" } })).status,
        ).toBeLessThan(300);
      await fresh.deps.bookkeeper.settle();
    } finally {
      await fresh.stop({ keepData: true });
    }

    const seen = new Set<string>();
    const report: string[] = [];
    const failures: string[] = [];
    for (const q of queries) {
      const shape = `${q.collection}.${q.method} ${JSON.stringify(Object.keys(q.filter))}`;
      if (seen.has(shape)) continue;
      seen.add(shape);
      const plan = await api.deps.db.conn.db!.command({ explain: { find: q.collection, filter: q.filter } });
      const { ok, how } = usesIndex(plan);
      report.push(`${ok ? "index" : "SCAN "}  ${shape}: ${how}`);
      if (!ok) failures.push(shape);
    }
    console.log(`query plans on ${kind}:\n  ${report.join("\n  ")}`);
    expect(seen.size).toBeGreaterThanOrEqual(15);
    expect(failures).toEqual([]);
  },
  60_000,
);
