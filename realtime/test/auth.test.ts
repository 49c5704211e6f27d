/**
 * The upgrade is authenticated and origin-checked before anything is upgraded: refusals are
 * plain HTTP 401/403 with the contract's error body. A socket whose token expires is closed
 * with 4001.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { CLOSE_CODES } from "@parley/contract/limits";
import { connect, openSocket, upgradeRequest } from "./helpers/socket.ts";
import { join } from "node:path";
import { register, signToken, spawnRealtime, startTestStack, type TestUser } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let rt: string;
let rtAllow: string;
let user: TestUser;
const ALLOWED = "https://chat.example.org";

let allowlisted: Awaited<ReturnType<typeof spawnRealtime>>;

beforeAll(async () => {
  // one replica with the default same-origin policy, one with an explicit allowlist
  stack = await startTestStack("auth", { replicas: 1 });
  rt = stack.realtimeUrls[0]!;
  allowlisted = await spawnRealtime(
    {
      API_URL: stack.apiUrl,
      REPLICA_ID: "realtime-allowlist",
      ALLOWED_ORIGINS: `${ALLOWED}, https://other.example.org`,
    },
    join(stack.logDir, "realtime-allowlist.log"),
  );
  rtAllow = allowlisted.url;
  user = await register(rt, "auth");
});
afterAll(async () => {
  await allowlisted?.stop();
  await stack?.stop();
});

describe("authentication at the upgrade", () => {
  test("no token, garbage, tampered, expired, no expiry, alg none, wrong secret or audience: 401 before the upgrade", async () => {
    const good = user.token;
    const [h, p, s] = good.split(".") as [string, string, string];
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), sub: "0".repeat(24) })).toString("base64url")}.${s}`;
    const cases: Record<string, string | undefined> = {
      missing: undefined,
      garbage: "not-a-token",
      tampered,
      expired: signToken({ sub: user.id, exp: Math.floor(Date.now() / 1000) - 10 }),
      noExpiry: signToken({ sub: user.id, exp: undefined }),
      noSession: signToken({ sub: user.id, sid: undefined }),
      noSessionStart: signToken({ sub: user.id, sat: undefined }),
      algNone: signToken({ sub: user.id }, { alg: "none" }),
      wrongSecret: signToken({ sub: user.id }, { secret: "another-secret-of-sufficient-length-000" }),
      wrongAudience: signToken({ sub: user.id, aud: "someone-else" }),
      notAnId: signToken({ sub: "admin" }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await upgradeRequest(rt, { query: token ? `?token=${encodeURIComponent(token)}` : "" });
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.headers.get("upgrade")).toBeNull();
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe("unauthorized");
    }
    // a refused socket never opens
    const refused = connect(rt, { token: "x.y.z" });
    expect(await refused.closed.then((c) => c.code)).not.toBe(1000);
    expect(refused.frames).toHaveLength(0);
  });

  test("the api and realtime accept and refuse exactly the same tokens (one set of checks, defect 9)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const tokens: Record<string, string> = {
      issued: user.token,
      handMade: signToken({ sub: user.id }),
      noExpiry: signToken({ sub: user.id, exp: undefined }),
      expired: signToken({ sub: user.id, exp: now - 5 }),
      notYet: signToken({ sub: user.id, nbf: now + 600 }),
      noSession: signToken({ sub: user.id, sid: undefined }),
      wrongIssuer: signToken({ sub: user.id, iss: "elsewhere" }),
      algNone: signToken({ sub: user.id }, { alg: "none" }),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const api = await fetch(`${rt}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      expect({ name, accepted: api.status === 200 }).toEqual({
        name,
        accepted: name === "issued" || name === "handMade",
      });
      if (api.status === 200) {
        const s = await openSocket(rt, { token });
        s.close();
      } else {
        expect(api.status).toBe(401);
        const socket = await upgradeRequest(rt, { query: `?token=${encodeURIComponent(token)}` });
        expect({ name, socket: socket.status }).toEqual({ name, socket: 401 });
      }
    }
  });

  test("the token may come as ?token=, as the session cookie, or as subprotocol [bearer, jwt] (answered with bearer)", async () => {
    for (const via of ["query", "cookie", "subprotocol"] as const) {
      const s = await openSocket(rt, { token: user.token, via });
      expect(s.frames[0]).toMatchObject({ type: "ready", userId: user.id });
      if (via === "subprotocol") expect(s.ws.protocol).toBe("bearer");
      s.close();
    }
  });

  test("a foreign Origin is refused with 403; the same origin (any scheme) passes", async () => {
    const host = new URL(rt).host;
    const foreign = await upgradeRequest(rt, {
      query: `?token=${user.token}`,
      headers: { origin: "https://evil.example.com" },
    });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    for (const origin of [`http://${host}`, `https://${host}`]) {
      const s = await openSocket(rt, { token: user.token, origin });
      s.close();
    }
  });

  test("ALLOWED_ORIGINS adds origins to the same origin, which still passes (defect 13); others are refused", async () => {
    const sameHost = await openSocket(rtAllow, { token: user.token, origin: `http://${new URL(rtAllow).host}` });
    sameHost.close();
    const s = await openSocket(rtAllow, { token: user.token, origin: ALLOWED });
    s.close();
    const foreign = await upgradeRequest(rtAllow, {
      query: `?token=${user.token}`,
      headers: { origin: "https://evil.example.com" },
    });
    expect(foreign.status).toBe(403);
  });

  test("a socket is closed with 4001 when its token expires", async () => {
    const shortLived = signToken({ sub: user.id, exp: Math.floor(Date.now() / 1000) + 2 });
    const s = await openSocket(rt, { token: shortLived });
    const closed = await s.closed;
    expect(closed.code).toBe(CLOSE_CODES.sessionExpired);
  });

  test("tokens never reach the logs", async () => {
    const { readdirSync, readFileSync } = await import("node:fs");
    const logs = readdirSync(stack.logDir)
      .filter((f) => f.startsWith("realtime"))
      .map((f) => readFileSync(join(stack.logDir, f), "utf8"))
      .join("\n");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(user.token);
    expect(logs).not.toContain(user.token.split(".")[2]!);
  });
});
