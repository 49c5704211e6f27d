/**
 * GET /api/users: case-insensitive prefix search, never yourself, presence from Redis, and only
 * for people you share a conversation with.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { presenceKeys } from "@parley/contract/frames";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
const run = Date.now().toString(36).slice(-5);
const names = [`Zed${run}_one`, `zed${run}_two`, `ZED${run}_three`, `zod${run}`, `a.b${run}`, `a_b${run}`];
const tokens: Record<string, { token: string; id: string }> = {};

beforeAll(async () => {
  api = await startTestApi("users");
  for (const username of names) {
    const res = await api.call("POST", "/api/auth/register", { body: { username, password: "password123" } });
    tokens[username] = { token: res.body.token, id: res.body.user.id };
  }
});
afterAll(async () => {
  await api.deps.redis.del(...names.map((n) => presenceKeys.user(tokens[n]!.id)));
  await api.stop();
});

const search = (token: string, query: string) => api.call("GET", `/api/users${query}`, { token });

test("prefix search ignores case, excludes yourself, sorts by name, honours limit", async () => {
  const me = tokens[names[0]!]!;
  const res = await search(me.token, `?q=ZED${run}`);
  expect(res.status).toBe(200);
  expect(res.body.users.map((u: { username: string }) => u.username)).toEqual([`ZED${run}_three`, `zed${run}_two`]);
  // a stranger: found, but their presence is not told
  expect(res.body.users[0]).toEqual({ id: tokens[`ZED${run}_three`]!.id, username: `ZED${run}_three` });
  const limited = await search(me.token, `?q=z&limit=1`);
  expect(limited.body.users).toHaveLength(1);
});

test("without a prefix: the people you share a conversation with, by name, never yourself", async () => {
  const me = tokens[names[3]!]!;
  expect((await search(me.token, "")).body.users).toEqual([]);
  const two = tokens[`zed${run}_two`]!;
  const dot = tokens[`a.b${run}`]!;
  const group = { memberIds: [two.id, dot.id], title: "g" };
  expect((await api.call("POST", "/api/conversations", { token: me.token, body: group })).status).toBe(201);
  const res = await search(me.token, "");
  expect(res.body.users.map((u: { username: string }) => u.username)).toEqual([`a.b${run}`, `zed${run}_two`]);
  expect((await search(me.token, "?limit=1")).body.users).toHaveLength(1);
});

test("regular-expression characters are plain text", async () => {
  const me = tokens[names[0]!]!;
  const dot = await search(me.token, `?q=${encodeURIComponent(`a.`)}`);
  expect(dot.body.users.map((u: { username: string }) => u.username)).toEqual([`a.b${run}`]);
  expect((await search(me.token, `?q=${encodeURIComponent(".*")}`)).body.users).toEqual([]);
  expect((await search(me.token, `?q=${encodeURIComponent("^z")}`)).body.users).toEqual([]);
});

test("online comes from the realtime presence sorted sets (unexpired entry = online), for contacts", async () => {
  const me = tokens[names[0]!]!;
  const two = tokens[`zed${run}_two`]!;
  const three = tokens[`ZED${run}_three`]!;
  const group = { memberIds: [two.id, three.id], title: "presence" };
  expect((await api.call("POST", "/api/conversations", { token: me.token, body: group })).status).toBe(201);
  await api.deps.redis.zadd(presenceKeys.user(two.id), Date.now() + 20_000, "realtime-1");
  await api.deps.redis.zadd(presenceKeys.user(three.id), Date.now() - 1000, "realtime-2"); // expired: a crashed replica
  const res = await search(me.token, `?q=zed${run}`);
  const online = Object.fromEntries(res.body.users.map((u: { id: string; online: boolean }) => [u.id, u.online]));
  expect(online).toEqual({ [two.id]: true, [three.id]: false });
});

test("presence is told only to people who share a conversation (defect 10)", async () => {
  const stranger = tokens[`a_b${run}`]!;
  const two = tokens[`zed${run}_two`]!;
  await api.deps.redis.zadd(presenceKeys.user(two.id), Date.now() + 20_000, "realtime-1");
  // a_b… shares no conversation with zed…_two: found by name, online not told
  const found = (await search(stranger.token, `?q=zed${run}_two`)).body.users;
  expect(found).toEqual([{ id: two.id, username: `zed${run}_two` }]);
  expect(found[0]).not.toHaveProperty("online");
});

test("401 without a session; 422 for a bad limit or an over-long q", async () => {
  expect((await api.call("GET", "/api/users?q=z")).status).toBe(401);
  const me = tokens[names[0]!]!;
  for (const q of ["?limit=0", "?limit=51", "?limit=x", `?q=${"a".repeat(33)}`]) {
    const res = await search(me.token, q);
    expect({ q, status: res.status }).toEqual({ q, status: 422 });
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.length).toBeGreaterThan(0);
  }
});

test("ranked: the exact name, then contacts, then others (each by name)", async () => {
  const me = tokens[names[0]!]!;
  const prefix = `rk${run}`;
  const [exact, contact, other] = [prefix, `${prefix}_zz_contact`, `${prefix}_aa_other`];
  const made: Record<string, { token: string; id: string }> = {};
  for (const username of [exact, contact, other]) {
    const res = await api.call("POST", "/api/auth/register", { body: { username, password: "password123" } });
    expect(res.status).toBe(201);
    made[username] = { token: res.body.token, id: res.body.user.id };
  }
  const direct = await api.call("POST", "/api/conversations", {
    token: me.token,
    body: { memberIds: [made[contact]!.id] },
  });
  expect(direct.status).toBe(201);
  const res = await search(me.token, `?q=${prefix.toUpperCase()}`);
  expect(res.body.users.map((u: { username: string }) => u.username)).toEqual([exact, contact, other]);
  // the contact's presence is told (offline here), the strangers' is not
  expect(res.body.users[1]).toEqual({ id: made[contact]!.id, username: contact, online: false });
  expect(res.body.users[0].online).toBeUndefined();
});
