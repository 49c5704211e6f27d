/**
 * Issue 10: what a hostile client sends gets the contract's error and changes nothing.
 * Defect 8: deeply nested JSON is 422 (not a 500) with a log line. Defect 11: a cross-site
 * request cannot act (a form or a no-preflight fetch cannot sign anyone out). Defect 14: a body
 * of zero-width characters is empty; answers never cached; a token of an unknown user is no
 * session on any route.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Writable } from "node:stream";
import pino from "pino";
import { buildApp, openDeps } from "../src/app.ts";
import { JWT_SECRET, startTestApi, testConfig, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("hostile");
});
afterAll(() => api.stop());

const json = { "content-type": "application/json" };

describe("deeply nested JSON (defect 8)", () => {
  const deepArray = `${"[".repeat(10_000)}${"]".repeat(10_000)}`;
  const deepObject = `${'{"a":'.repeat(5000)}1${"}".repeat(5000)}`;

  test("10,000 brackets anywhere in a body are 422 validation_failed, on every route that takes a body", async () => {
    const a = await api.register("deep");
    const b = await api.register("deep");
    const c = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
      .conversation;
    const bodies = {
      array: deepArray,
      object: deepObject,
      inMembers: `{"memberIds":${deepArray}}`,
      inBody: `{"body":${deepArray},"clientId":"x1"}`,
      inExtra: `{"body":"hi","clientId":"x2","extra":${deepObject}}`,
    };
    const routes = [
      "/api/auth/register",
      "/api/auth/login",
      "/api/conversations",
      `/api/conversations/${c.id}/messages`,
      `/api/conversations/${c.id}/read`,
    ];
    for (const path of routes)
      for (const [name, raw] of Object.entries(bodies)) {
        const res = await api.call("POST", path, { token: a.token, raw, headers: json });
        expect({ path, name, status: res.status, type: res.headers.get("content-type") }).toEqual({
          path,
          name,
          status: 422,
          type: "application/json",
        });
        expect(res.body.error.code).toBe("validation_failed");
      }
    // nothing was written
    const history = await api.call("GET", `/api/conversations/${c.id}/messages`, { token: a.token });
    expect(history.body.messages).toEqual([]);
  });

  test("each refusal leaves a log line (where, not what)", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).trim().split("\n")) lines.push(JSON.parse(l));
        done();
      },
    });
    const deps = openDeps(testConfig("hostile_log"), pino({ level: "info" }, sink));
    try {
      const app = buildApp(deps);
      const res = await app.handle(
        new Request("http://localhost/api/auth/login", { method: "POST", headers: json, body: deepArray }),
      );
      expect(res.status).toBe(422);
      expect(lines.some((l) => l.msg === "bad input refused" && l.path === "/api/auth/login")).toBe(true);
      expect(JSON.stringify(lines)).not.toContain("[[[[");
    } finally {
      await deps.close();
    }
  });
});

describe("text the database cannot store (found by the fuzzer)", () => {
  test("NUL in a message, a sign-in name or a search is the contract's answer, never a 500", async () => {
    const a = await api.register("nul");
    const b = await api.register("nul");
    const c = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
      .conversation;
    const body = await api.call("POST", `/api/conversations/${c.id}/messages`, {
      token: a.token,
      raw: '{"body":"a\\u0000b","clientId":"nul1"}',
      headers: json,
    });
    expect(body.status).toBe(422);
    expect(body.body.error.code).toBe("validation_failed");
    const login = await api.call("POST", "/api/auth/login", {
      raw: '{"username":"nul\\u0000x","password":"whatever1"}',
      headers: json,
    });
    expect(login.status).toBe(422);
    // a name no account can have is "wrong username or password", like any other
    const odd = await api.call("POST", "/api/auth/login", { body: { username: "nul é\u00ff", password: "whatever1" } });
    expect(odd.status).toBe(401);
    const search = await api.call("GET", "/api/users?q=a%00", { token: a.token });
    expect(search.status).toBe(422);
    expect(search.body.error.code).toBe("validation_failed");
    // characters no username has find nobody, without a question to the database
    const odder = await api.call("GET", "/api/users?q=%C3%9B%F0%9E%A0%91", { token: a.token });
    expect(odder.status).toBe(200);
    expect(odder.body.users).toEqual([]);
    expect((await api.call("GET", `/api/conversations/${c.id}/messages`, { token: a.token })).body.messages).toEqual(
      [],
    );
  });
});

describe("methods a path does not have (found by the fuzzer)", () => {
  test("are 405 in the contract's shape, naming the methods it has (Allow), whatever they carry", async () => {
    const { token } = await api.register("method");
    for (const [method, path, allow] of [
      ["PUT", "/api/auth/login", "POST"],
      ["DELETE", "/api/conversations", "GET, HEAD, POST"],
      ["POST", "/api/me", "GET, HEAD"],
      ["PATCH", "/readyz", "GET, HEAD"],
    ] as const) {
      const res = await api.call(method, path, { token, raw: "x", headers: { "content-type": "text/plain" } });
      expect({ method, path, status: res.status, allow: res.headers.get("allow") }).toEqual({
        method,
        path,
        status: 405,
        allow,
      });
      expect(res.body.error.code).toBe("method_not_allowed");
    }
    expect((await api.call("GET", "/api/nowhere", { token })).status).toBe(404);
  });
});

describe("cross-site requests cannot act (defect 11)", () => {
  test("logout without a JSON Content-Type (a form, text/plain, none) is refused and the session lives on", async () => {
    const a = await api.register("csrf");
    const cookie = `session=${a.token}`;
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]) {
      const res = await api.call("POST", "/api/auth/logout", {
        headers: { cookie, ...(type ? { "content-type": type } : {}) },
        raw: type ? "" : undefined,
      });
      expect({ type, status: res.status }).toEqual({ type, status: 422 });
      expect(res.headers.get("set-cookie")).toBeNull();
    }
    expect((await api.call("GET", "/api/me", { headers: { cookie } })).status).toBe(200);
  });

  test("a browser saying the request is cross-site (Sec-Fetch-Site) is refused with 403, whatever it sends", async () => {
    const a = await api.register("xsite");
    const b = await api.register("xsite");
    const cookie = `session=${a.token}`;
    const res = await api.call("POST", "/api/conversations", {
      headers: { cookie, "sec-fetch-site": "cross-site" },
      body: { memberIds: [b.user.id] },
    });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    const out = await api.call("POST", "/api/auth/logout", {
      headers: { cookie, "sec-fetch-site": "cross-site", ...json },
    });
    expect(out.status).toBe(403);
    expect((await api.call("GET", "/api/me", { headers: { cookie } })).status).toBe(200);
    // the app itself (same origin) goes through
    const own = await api.call("POST", "/api/conversations", {
      headers: { cookie, "sec-fetch-site": "same-origin" },
      body: { memberIds: [b.user.id] },
    });
    expect(own.status).toBe(201);
  });
});

describe("smaller ones (defect 14)", () => {
  test("a body of only zero-width or other invisible characters is 422, nothing stored", async () => {
    const a = await api.register("zw");
    const b = await api.register("zw");
    const c = (await api.call("POST", "/api/conversations", { token: a.token, body: { memberIds: [b.user.id] } })).body
      .conversation;
    for (const body of ["\u200B\u200B\u200B", "\u200D\u2060\uFEFF", " \u3164 ", "\u2800", "\u200E\u200F"]) {
      const res = await api.call("POST", `/api/conversations/${c.id}/messages`, {
        token: a.token,
        body: { body, clientId: `zw${body.length}${body.charCodeAt(0)}` },
      });
      expect({ body: JSON.stringify(body), status: res.status }).toEqual({ body: JSON.stringify(body), status: 422 });
    }
    expect((await api.call("GET", `/api/conversations/${c.id}/messages`, { token: a.token })).body.messages).toEqual(
      [],
    );
    // visible text with a joiner inside is a message
    const ok = await api.call("POST", `/api/conversations/${c.id}/messages`, {
      token: a.token,
      body: { body: "👩\u200D💻", clientId: "zw-ok" },
    });
    expect(ok.status).toBe(201);
  });

  test("answers carrying a token (and every other api answer) say Cache-Control: no-store", async () => {
    const username = `cache_${Math.random().toString(36).slice(2, 8)}`;
    const reg = await api.call("POST", "/api/auth/register", { body: { username, password: "password123" } });
    const login = await api.call("POST", "/api/auth/login", { body: { username, password: "password123" } });
    const me = await api.call("GET", "/api/me", { token: reg.body.token });
    const refused = await api.call("GET", "/api/me");
    for (const res of [reg, login, me, refused]) expect(res.headers.get("cache-control")).toBe("no-store");
  });

  test("a valid token of a user that does not exist is 401 on every route, not only /me", async () => {
    const ghost = "0123456789abcdef01234567";
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: ghost, username: "ghost", iss: "parley", aud: "parley", iat: now, exp: now + 600, sid: "ghost-session-0123456", sat: Date.now() })}`;
    const token = `${head}.${createHmac("sha256", JWT_SECRET).update(head).digest("base64url")}`;
    const someone = await api.register("real");
    const routes: [string, string, unknown?][] = [
      ["GET", "/api/me"],
      ["GET", "/api/users?q=re"],
      ["GET", "/api/conversations"],
      ["POST", "/api/conversations", { memberIds: [someone.user.id] }],
      ["GET", `/api/conversations/${ghost}`],
      ["GET", `/api/conversations/${ghost}/messages`],
      ["POST", `/api/conversations/${ghost}/messages`, { body: "boo", clientId: "g1" }],
      ["POST", `/api/conversations/${ghost}/read`, { seq: 1 }],
      ["POST", "/api/auth/logout-everywhere", {}],
    ];
    for (const [method, path, body] of routes) {
      const res = await api.call(method, path, { token, body });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
    }
    expect(await api.deps.db.Conversation.countDocuments({ memberIds: someone.user.id })).toBe(0);
  });
});
