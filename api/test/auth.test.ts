/** Accounts and sessions: register, login, logout, /me, token checks, login rate limits. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { JWT_SECRET, startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("auth", { loginMaxFailures: 5, loginWindowSeconds: 60 });
});
afterAll(() => api.stop());

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
function hs256(
  payload: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
  secret = JWT_SECRET,
) {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", secret).update(head).digest("base64url")}`;
}
const now = () => Math.floor(Date.now() / 1000);
/** Redis outlives a test run: names and addresses that count failures are fresh each run. */
const run = Date.now().toString(36).slice(-6);
/** A fresh client address behind the trusted proxy (IPv6 in a /64 of its own, IPv4 otherwise). */
const net = Math.floor(Math.random() * 0xffff).toString(16);
let hosts = 0;
const from = (v6 = false) => ({
  "x-forwarded-for": v6 ? `2001:db8:${net}:${(++hosts).toString(16)}::1` : `10.${rnd()}.${rnd()}.${++hosts % 250}`,
});
const rnd = () => Math.floor(Math.random() * 250) + 1;

describe("register", () => {
  test("201 with user, token and an HttpOnly SameSite=Lax session cookie; the password is stored as argon2id", async () => {
    const res = await api.call("POST", "/api/auth/register", {
      body: { username: "Alice_reg", password: "password123" },
    });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ username: "Alice_reg" });
    expect(res.body.user.id).toMatch(/^[0-9a-f]{24}$/);
    expect(typeof res.body.token).toBe("string");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toContain(`session=${res.body.token}`);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/i); // COOKIE_SECURE=auto over plain http
    const stored = await api.deps.db.User.findOne({ usernameLower: "alice_reg" }).lean();
    expect(stored?.passwordHash.startsWith("$argon2id$")).toBe(true);
    expect(JSON.stringify(res.body)).not.toContain("password");
  });

  test("Secure cookie when the request came through https (X-Forwarded-Proto)", async () => {
    const res = await api.call("POST", "/api/auth/register", {
      body: { username: "secure_one", password: "password123" },
      headers: { "x-forwarded-proto": "https" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("set-cookie") ?? "").toMatch(/Secure/);
  });

  test("409 conflict for a username taken in another case", async () => {
    await api.call("POST", "/api/auth/register", { body: { username: "bob_case", password: "password123" } });
    const res = await api.call("POST", "/api/auth/register", {
      body: { username: "BOB_Case", password: "password456" },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("conflict");
  });

  test("422 with field paths for an invalid username and password", async () => {
    const res = await api.call("POST", "/api/auth/register", { body: { username: "a b", password: "short" } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toContain("/username");
    expect(paths).toContain("/password");
  });

  test("unknown fields are dropped (Elysia normalizes bodies), never stored", async () => {
    const res = await api.call("POST", "/api/auth/register", {
      body: { username: "carol_x", password: "password123", admin: true },
    });
    expect(res.status).toBe(201);
    const stored = (await api.deps.db.User.findOne({ usernameLower: "carol_x" }).lean()) as Record<
      string,
      unknown
    > | null;
    expect(stored).not.toBeNull();
    expect(stored).not.toHaveProperty("admin");
  });

  test("422 for a missing body and malformed JSON; nothing stored", async () => {
    const before = await api.deps.db.User.countDocuments();
    const none = await api.call("POST", "/api/auth/register");
    expect(none.status).toBe(422);
    const broken = await api.call("POST", "/api/auth/register", {
      raw: '{"username":',
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe("validation_failed");
    expect(await api.deps.db.User.countDocuments()).toBe(before);
  });
});

describe("login", () => {
  test("200 with token and cookie; case-insensitive username", async () => {
    await api.call("POST", "/api/auth/register", { body: { username: "Dave_login", password: "password123" } });
    const res = await api.call("POST", "/api/auth/login", {
      body: { username: "dave_LOGIN", password: "password123" },
    });
    expect(res.status).toBe(200);
    expect(res.body.user.username).toBe("Dave_login");
    expect(res.headers.get("set-cookie") ?? "").toContain(`session=${res.body.token}`);
  });

  test("unknown user and wrong password get the same 401", async () => {
    await api.call("POST", "/api/auth/register", { body: { username: "erin_pw", password: "password123" } });
    const wrong = await api.call("POST", "/api/auth/login", {
      body: { username: "erin_pw", password: "not-the-password" },
    });
    const unknown = await api.call("POST", "/api/auth/login", {
      body: { username: "nobody_here", password: "not-the-password" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    expect(wrong.headers.get("set-cookie")).toBeNull();
  });

  test("the 6th failed login for one username from one address is 429 with Retry-After, even with the right password", async () => {
    await api.call("POST", "/api/auth/register", { body: { username: `frank_${run}`, password: "password123" } });
    const headers = from();
    for (let i = 1; i <= 5; i++) {
      const res = await api.call("POST", "/api/auth/login", {
        body: { username: `frank_${run}`, password: `wrong-${i}-password` },
        headers,
      });
      expect(res.status).toBe(401);
    }
    const sixth = await api.call("POST", "/api/auth/login", {
      body: { username: `FRANK_${run}`, password: "password123" },
      headers,
    });
    expect(sixth.status).toBe(429);
    expect(sixth.body.error.code).toBe("rate_limited");
    const retry = Number(sixth.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
  });

  test("failures from one client address are limited across usernames (X-Forwarded-For behind a trusted proxy)", async () => {
    // the entry our proxy appended is the last one; what the client put before it is ignored
    const address = from(true)["x-forwarded-for"];
    const headers = { "x-forwarded-for": `10.0.0.1, ${address}` };
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      statuses.push(
        (
          await api.call("POST", "/api/auth/login", {
            body: { username: `ghost_${run}_${i}`, password: "whatever1" },
            headers,
          })
        ).status,
      );
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
    // a client cannot walk around the limit by forging earlier entries
    const forged = await api.call("POST", "/api/auth/login", {
      body: { username: `ghost_${run}_y`, password: "whatever1" },
      headers: { "x-forwarded-for": `203.0.113.9, ${address}` },
    });
    expect(forged.status).toBe(429);
    // nor by taking another address of the same IPv6 /64 (one subscriber usually holds all of it)
    const sameNet = await api.call("POST", "/api/auth/login", {
      body: { username: `ghost_${run}_z`, password: "whatever1" },
      headers: { "x-forwarded-for": address.replace(/::1$/, ":abcd::7") },
    });
    expect(sameNet.status).toBe(429);
    // another address is not affected
    const other = await api.call("POST", "/api/auth/login", {
      body: { username: `ghost_${run}_x`, password: "whatever1" },
      headers: from(true),
    });
    expect(other.status).toBe(401);
  });

  test("concurrent wrong-password logins: at most the limit are 401, the rest 429", async () => {
    const limited = await startTestApi("auth_burst", { loginMaxFailures: 3, loginWindowSeconds: 60 });
    try {
      const username = `burst_${run}`;
      await limited.call("POST", "/api/auth/register", { body: { username, password: "password123" } });
      const headers = from();
      const statuses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          limited.call("POST", "/api/auth/login", { body: { username, password: `wrong-${i}-password` }, headers }),
        ),
      ).then((all) => all.map((r) => r.status));
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(27);
      expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    } finally {
      await limited.stop();
    }
  });

  test("successful logins do not count as failures for their address", async () => {
    const limited = await startTestApi("auth_success", { loginMaxFailures: 1, loginWindowSeconds: 60 });
    try {
      const username = `ok_${run}`;
      await limited.call("POST", "/api/auth/register", { body: { username, password: "password123" } });
      const headers = from(true);
      for (let i = 0; i < 8; i++) {
        expect(
          (await limited.call("POST", "/api/auth/login", { body: { username, password: "password123" }, headers }))
            .status,
        ).toBe(200);
      }
    } finally {
      await limited.stop();
    }
  });

  test("the limit is kept in Redis, so a second api replica sees it", async () => {
    const replica = await startTestApi("auth_replica", { loginMaxFailures: 2, loginWindowSeconds: 60 });
    try {
      const body = { username: `shared_${run}`, password: "wrong-password" };
      const headers = from();
      expect((await api.call("POST", "/api/auth/login", { body, headers })).status).toBe(401);
      expect((await api.call("POST", "/api/auth/login", { body, headers })).status).toBe(401);
      expect((await replica.call("POST", "/api/auth/login", { body, headers })).status).toBe(429);
    } finally {
      await replica.stop();
    }
  });
});

describe("sessions", () => {
  test("/me with Bearer and with the cookie; 401 without", async () => {
    const { token, user } = await api.register("me");
    const bearer = await api.call("GET", "/api/me", { token });
    expect(bearer.status).toBe(200);
    expect(bearer.body.user).toEqual(user);
    const cookie = await api.call("GET", "/api/me", { headers: { cookie: `session=${token}` } });
    expect(cookie.status).toBe(200);
    expect(cookie.body.user.id).toBe(user.id);
    const none = await api.call("GET", "/api/me");
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe("unauthorized");
  });

  test("logout answers 204 and clears the cookie", async () => {
    const res = await api.call("POST", "/api/auth/logout", { headers: { "content-type": "application/json" } });
    expect(res.status).toBe(204);
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/session=;|session=$/);
    expect(cookie).toMatch(/Max-Age=0/);
  });

  test("tampered, expired, alg:none, wrong issuer or audience, wrong secret, RS-less HS512 tokens are 401", async () => {
    const { token, user } = await api.register("tok");
    const good = {
      sub: user.id,
      username: user.username,
      iss: "parley",
      aud: "parley",
      iat: now(),
      exp: now() + 600,
      sid: "forged-session-id-0123",
      sat: Date.now(),
    };
    expect((await api.call("GET", "/api/me", { token: hs256(good) })).status).toBe(200); // the forger itself works

    const [h, p, s] = token.split(".");
    const tamperedPayload = b64({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), sub: "0".repeat(24) });
    const bad = {
      tampered: `${h}.${tamperedPayload}.${s}`,
      badSignature: `${h}.${p}.${s!.slice(0, -2)}xx`,
      expired: hs256({ ...good, iat: now() - 1000, exp: now() - 10 }),
      algNone: `${b64({ alg: "none", typ: "JWT" })}.${b64(good)}.`,
      wrongIssuer: hs256({ ...good, iss: "someone-else" }),
      wrongAudience: hs256({ ...good, aud: "someone-else" }),
      wrongSecret: hs256(good, undefined, "another-secret-0123456789-abcdefghijk"),
      noExpiry: hs256({ ...good, exp: undefined }),
      noSession: hs256({ ...good, sid: undefined }),
      noSessionStart: hs256({ ...good, sat: undefined }),
      hs512: (() => {
        const head = `${b64({ alg: "HS512", typ: "JWT" })}.${b64(good)}`;
        return `${head}.${createHmac("sha512", JWT_SECRET).update(head).digest("base64url")}`;
      })(),
      garbage: "not-a-token",
    };
    for (const [name, t] of Object.entries(bad)) {
      const viaBearer = await api.call("GET", "/api/me", { token: t });
      const viaCookie = await api.call("GET", "/api/me", { headers: { cookie: `session=${t}` } });
      expect({ name, bearer: viaBearer.status, cookie: viaCookie.status }).toEqual({ name, bearer: 401, cookie: 401 });
    }
  });
});
