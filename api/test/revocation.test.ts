/**
 * Issue 10, defect 4: signing out revokes the session. The token stops working at once on every
 * api process (realtime closes its sockets: realtime/test/revocation.test.ts); "sign out
 * everywhere" revokes every session of the user; the record in Redis stays small.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MAX_SIDS } from "@parley/kit/revocation";
import { waitFor } from "../../scripts/lib/ports.ts";
import { freePort } from "../../scripts/lib/ports.ts";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
let other: TestApi;
beforeAll(async () => {
  api = await startTestApi("revocation");
  // a second api process on the same database and Redis
  other = await startTestApi("revocation_b", { mongoUrl: api.config.mongoUrl });
});
afterAll(async () => {
  await other.stop({ keepData: true });
  await api.stop();
});

const json = { "content-type": "application/json" };
const me = (app: TestApi, token: string) => app.call("GET", "/api/me", { token });
const signIn = async (username: string) =>
  (await api.call("POST", "/api/auth/login", { body: { username, password: "correct horse battery" } })).body
    .token as string;

describe("logout revokes the session (defect 4)", () => {
  test("after logout the token is refused on every route of every api process; other sessions live on", async () => {
    const { token, user } = await api.register("out");
    const second = await signIn(user.username);
    expect((await me(api, token)).status).toBe(200);
    expect((await me(other, token)).status).toBe(200); // the other process has it in memory now

    const out = await api.call("POST", "/api/auth/logout", { token, headers: json });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie") ?? "").toMatch(/Max-Age=0/);

    expect((await me(api, token)).status).toBe(401);
    expect((await api.call("GET", "/api/conversations", { token })).status).toBe(401);
    await waitFor("the other api process to hear of the sign-out", async () => (await me(other, token)).status === 401);
    // the user's other session is a different one
    expect((await me(api, second)).status).toBe(200);
    expect((await me(other, second)).status).toBe(200);
    // signing out again with a dead token is harmless
    expect((await api.call("POST", "/api/auth/logout", { token, headers: json })).status).toBe(204);
  });

  test("the cookie session is revoked the same way", async () => {
    const { token } = await api.register("cookie");
    const cookie = `session=${token}`;
    expect((await api.call("POST", "/api/auth/logout", { headers: { cookie, ...json } })).status).toBe(204);
    expect((await api.call("GET", "/api/me", { headers: { cookie } })).status).toBe(401);
  });

  test("sign out everywhere revokes every session of the user, and a new sign-in works", async () => {
    const { token, user } = await api.register("every");
    const phone = await signIn(user.username);
    const laptop = await signIn(user.username);
    expect((await api.call("POST", "/api/auth/logout-everywhere", { token: phone, headers: json })).status).toBe(204);
    for (const t of [token, phone, laptop]) {
      expect((await me(api, t)).status).toBe(401);
      await waitFor("the other process too", async () => (await me(other, t)).status === 401);
    }
    const fresh = await signIn(user.username);
    expect((await me(api, fresh)).status).toBe(200);
    expect((await me(other, fresh)).status).toBe(200);
    // without a session there is nothing to sign out everywhere
    expect((await api.call("POST", "/api/auth/logout-everywhere", { headers: json })).status).toBe(401);
  });

  test(`the record stays small: past ${MAX_SIDS} signed-out sessions a sign-out covers every older session`, async () => {
    const { token, user } = await api.register("many");
    const tokens = [token];
    for (let i = 0; i < MAX_SIDS + 2; i++) tokens.push(await signIn(user.username));
    const kept = tokens.pop()!;
    for (const t of tokens)
      expect((await api.call("POST", "/api/auth/logout", { token: t, headers: json })).status).toBe(204);
    const record = await api.deps.redis.hgetall(`parley:sessions:${user.id}`);
    expect(Object.keys(record).length).toBeLessThanOrEqual(MAX_SIDS + 1);
    for (const t of tokens) expect((await me(api, t)).status).toBe(401);
    // the session never signed out started before the collapse: covered too (the price of the bound)
    expect((await me(api, kept)).status).toBe(401);
    expect(await api.deps.redis.ttl(`parley:sessions:${user.id}`)).toBeGreaterThan(0);
    // and a session started after it is fine
    expect((await me(api, await signIn(user.username))).status).toBe(200);
  });

  test("with the database down, logout still signs out: 204, the cookie cleared, the session revoked", async () => {
    const { token } = await api.register("nodb");
    const deadDb = `mongodb://127.0.0.1:${await freePort()}/nowhere`;
    const cut = await startTestApi("revocation_nodb", { mongoUrl: deadDb }, { wait: false });
    try {
      await waitFor("redis ready", () => cut.deps.redis.status === "ready");
      const out = await cut.call("POST", "/api/auth/logout", { token, headers: json });
      expect(out.status).toBe(204);
      expect(out.headers.get("set-cookie") ?? "").toMatch(/Max-Age=0/);
      await waitFor("the sign-out heard by the api with a database", async () => (await me(api, token)).status === 401);
    } finally {
      await cut.stop({ keepData: true });
    }
  });

  test("with Redis down, checks pass on the signature alone (no one is signed out by an outage) and logout says 503", async () => {
    const { token } = await api.register("noredis");
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const cut = await startTestApi(
      "revocation_noredis",
      { mongoUrl: api.config.mongoUrl, redisUrl: deadRedis },
      { wait: false },
    );
    try {
      await waitFor("mongo ready", () => cut.deps.db.ready(), 20_000);
      expect((await me(cut, token)).status).toBe(200);
      const out = await cut.call("POST", "/api/auth/logout", { token, headers: json });
      expect(out.status).toBe(503);
      expect(out.body.error.code).toBe("unavailable");
      // the browser's cookie is cleared anyway
      expect(out.headers.get("set-cookie") ?? "").toMatch(/Max-Age=0/);
    } finally {
      await cut.stop({ keepData: true });
    }
  });
});
