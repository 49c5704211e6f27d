/**
 * The OWASP WebSocket Security Cheat Sheet, item by item, against the real api and a realtime
 * replica (https://cheatsheetseries.owasp.org/cheatsheets/WebSocket_Security_Cheat_Sheet.html).
 * One test per item; where a defence is tested at length elsewhere, the test here checks the
 * item as an attacker would meet it and names the longer test.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { join } from "node:path";
import Redis from "ioredis";
import { encodeFanoutEvent } from "@parley/contract/frames";
import { EventRouter, type Routed } from "@parley/kit/route";
import { CLOSE_CODES, WS_FRAME_MAX_BYTES, WS_INBOUND } from "@parley/contract/limits";
import { connect, openSocket, upgradeRequest, type TestSocket } from "./helpers/socket.ts";
import { testRedisUrl } from "./helpers/env.ts";
import { createConversation, register, signToken, startTestStack, type TestUser } from "./helpers/stack.ts";

setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let rt: string;
let alice: TestUser;
let bob: TestUser;
let mallory: TestUser;
let secret: string;
const sockets: TestSocket[] = [];
const open = async (token: string, opts: { origin?: string } = {}) => {
  const s = await openSocket(rt, { token, ...opts });
  sockets.push(s);
  return s;
};

beforeAll(async () => {
  stack = await startTestStack("owasp_ws", { replicas: 1, realtimeEnv: { WS_MAX_SOCKETS_PER_USER: "3" } });
  rt = stack.realtimeUrls[0]!;
  [alice, bob, mallory] = [await register(rt, "alice"), await register(rt, "bob"), await register(rt, "mallory")];
  secret = (await createConversation(rt, alice, [bob], "secret plans")).id;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

/** The head of the answer to a hand-written upgrade request (status line and headers). */
async function rawUpgrade(
  extra: Record<string, string>,
  token = alice.token,
): Promise<{ status: number; headers: string }> {
  const { hostname, port } = new URL(rt);
  const sock = tcpConnect(Number(port), hostname);
  await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
  const headers = {
    Host: `${hostname}:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
    ...extra,
  };
  sock.write(
    `GET /ws?token=${token} HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n")}\r\n\r\n`,
  );
  const head = await new Promise<string>((resolve) => sock.once("data", (d: Buffer) => resolve(d.toString("latin1"))));
  sock.destroy();
  return { status: Number(head.split(" ")[1]), headers: head.toLowerCase() };
}

describe("OWASP WebSocket Security Cheat Sheet", () => {
  test("transport security: behind TLS the session cookie is Secure, HSTS is sent, and the page may connect only to its own origin", async () => {
    const res = await fetch(`${rt}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-proto": "https" },
      body: JSON.stringify({ username: alice.username, password: "correct horse battery" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(/; Secure/i);
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d{7,}/);
    const page = await fetch(`${rt}/`, { headers: { "x-forwarded-proto": "https" } });
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    // over plain http no HSTS (browsers ignore it there, and it must not be sent)
    expect((await fetch(`${rt}/`)).headers.get("strict-transport-security")).toBeNull();
  });

  test("origin validation (cross-site WebSocket hijacking): another site's page cannot open a socket with the victim's cookie", async () => {
    const hijack = await upgradeRequest(rt, {
      headers: { origin: "https://evil.example.com", cookie: `session=${alice.token}` },
    });
    expect(hijack.status).toBe(403);
    expect(hijack.headers.get("upgrade")).toBeNull();
    const same = await open(alice.token, { origin: `http://${new URL(rt).host}` });
    expect(same.frames[0]).toMatchObject({ type: "ready", userId: alice.id });
    same.close();
  });

  test("authentication at the handshake: no valid session, no socket (401 before the upgrade, not a first message)", async () => {
    for (const query of ["", "?token=garbage", `?token=${signToken({ sub: alice.id }, { secret: "x".repeat(40) })}`]) {
      const res = await upgradeRequest(rt, { query });
      expect({ query, status: res.status }).toEqual({ query, status: 401 });
    }
    const refused = connect(rt, {});
    await refused.closed;
    expect(refused.frames).toEqual([]);
  });

  test("tokens in URLs: the browser uses the HttpOnly cookie; a ?token= is never written to a log", async () => {
    const s = await open(alice.token);
    s.close();
    await s.closed;
    const web = readFileSync(join(import.meta.dir, "../../frontend/src/state/socket-client.ts"), "utf8");
    expect(web).not.toContain("token=");
    const logs = readdirSync(stack.logDir)
      .map((f) => readFileSync(join(stack.logDir, f), "utf8"))
      .join("\n");
    expect(logs).not.toContain(alice.token.split(".")[2]!);
  });

  test("authorization of every message: typing into a conversation you are not in reaches no one and reveals nothing", async () => {
    const b = await open(bob.token);
    const m = await open(mallory.token);
    m.send({ type: "typing", conversationId: secret });
    const answer = await m.next((f) => f.type === "error");
    expect(answer).toMatchObject({ code: "not_found" });
    // a made-up id gets the very same answer: existence is not leaked
    m.send({ type: "typing", conversationId: "0".repeat(24) });
    const made = await m.next((f) => f.type === "error");
    expect(made).toEqual(answer);
    // alice's own typing does arrive (the channel works), mallory's never did
    const a = await open(alice.token);
    a.send({ type: "typing", conversationId: secret });
    await b.next((f) => f.type === "typing" && f.userId === alice.id);
    expect(b.of("typing").filter((f) => f.userId === mallory.id)).toEqual([]);
    for (const s of [a, b, m]) s.close();
  });

  test("input validation: anything but a well-formed typing frame is refused (validation_failed) and does nothing", async () => {
    const s = await open(mallory.token);
    const bad = [
      "{not json",
      JSON.stringify({ type: "message", body: "forged" }),
      JSON.stringify({ type: "typing", conversationId: { $ne: null } }),
      `${"[".repeat(200)}${"]".repeat(200)}`,
    ];
    for (const f of bad) s.send(f);
    const errors = await s.collectUntil((fs) => fs.filter((f) => f.type === "error").length >= 3);
    for (const e of errors.filter((f) => f.type === "error")) expect(e).toMatchObject({ code: "validation_failed" });
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    s.close();
  });

  test(`message size: a frame over ${WS_FRAME_MAX_BYTES} bytes closes the socket (1009)`, async () => {
    const s = await open(mallory.token);
    s.send("x".repeat(WS_FRAME_MAX_BYTES + 1));
    expect((await s.closed).code).toBe(CLOSE_CODES.tooBig);
  });

  test(`rate limiting: ${WS_INBOUND.burst} frames at once, then ${WS_INBOUND.perSecond}/s; a flood is closed (1008) with few answers`, async () => {
    const s = await open(mallory.token);
    for (let i = 0; i < 200; i++) s.send({ type: "typing", conversationId: secret });
    expect((await s.closed).code).toBe(CLOSE_CODES.policy);
    expect(s.of("error").length).toBeLessThanOrEqual(5);
  });

  test("connection limits: a user's sockets beyond the cap are closed with 4004, saying why", async () => {
    const user = await register(rt, "capped");
    for (let i = 0; i < 3; i++) await open(user.token);
    const extra = connect(rt, { token: user.token });
    sockets.push(extra);
    const closed = await extra.closed;
    expect(closed).toMatchObject({ code: CLOSE_CODES.tooManySockets });
    expect(closed.reason).toMatch(/too many/);
  });

  test("resource exhaustion: a client that stops reading is closed (4002) instead of growing memory (slow-client.test.ts at length)", async () => {
    const stalled = await register(rt, "stalled");
    const { hostname, port } = new URL(rt);
    const sock = tcpConnect(Number(port), hostname);
    await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
    sock.write(
      `GET /ws?token=${stalled.token} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await new Promise<void>((resolve) => sock.once("data", () => resolve()));
    sock.pause(); // reads nothing more
    const closes = async () => {
      const text = await (await fetch(`${stack.realtimeOpsUrls[0]}/metrics`)).text();
      return Number(text.match(/^realtime_slow_client_closes_total\{[^}]*\} (\d+)/m)?.[1] ?? 0);
    };
    const before = await closes();
    const publisher = new Redis(testRedisUrl);
    const router = new EventRouter(publisher);
    try {
      const body = "x".repeat(60_000);
      // as the api would publish them, in batches, until the replica gives up on the socket
      for (let batch = 0; batch < 400 && (await closes()) === before; batch++) {
        const events: Routed[] = [];
        for (let i = 0; i < 5; i++) {
          const message = {
            id: (batch * 5 + i + 1).toString(16).padStart(24, "0"),
            conversationId: secret,
            seq: batch * 5 + i + 1,
            senderId: bob.id,
            body,
            clientId: `slow${batch}_${i}`,
            createdAt: new Date().toISOString(),
            kind: "text" as const,
            system: null,
            replyTo: null,
            mentions: [],
            editedAt: null,
            deleted: false,
            reactions: [],
            version: 0,
          };
          events.push({ userIds: [stalled.id], payload: encodeFanoutEvent({ type: "message", message }, Date.now()) });
        }
        await router.publishOrThrow(events);
      }
      expect(await closes()).toBe(before + 1);
    } finally {
      await publisher.quit();
      sock.destroy();
    }
  });

  test("session expiry and revocation: an expiring token's socket closes (4001); signing out closes the socket (4003)", async () => {
    const short = await open(signToken({ sub: bob.id, exp: Math.floor(Date.now() / 1000) + 2 }));
    expect((await short.closed).code).toBe(CLOSE_CODES.sessionExpired);
    const user = await register(rt, "leaver");
    const s = await open(user.token);
    await fetch(`${rt}/api/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
    });
    expect((await s.closed).code).toBe(CLOSE_CODES.signedOut);
  });

  test("error handling: refusals say what, never how (no stack, no internals), in the contract's shape", async () => {
    const s = await open(mallory.token);
    s.send("{");
    const e = await s.next((f) => f.type === "error");
    expect(Object.keys(e).sort()).toEqual(["code", "message", "type"]);
    expect(JSON.stringify(e)).not.toMatch(/at .*\.ts|Error:|stack/);
    s.close();
    const refused = await upgradeRequest(rt, { query: "?token=x.y.z" });
    expect(await refused.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });

  test("logging: connections are logged without their tokens, and no password or token reaches any log", async () => {
    const logs = readdirSync(stack.logDir)
      .map((f) => readFileSync(join(stack.logDir, f), "utf8"))
      .join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const u of [alice, bob, mallory]) expect(logs).not.toContain(u.token.split(".")[2]!);
    expect(logs).not.toContain("correct horse battery");
  });

  test("protocol: only RFC 6455 (version 13) is spoken, and compression is never negotiated", async () => {
    const old = await rawUpgrade({ "Sec-WebSocket-Version": "8" });
    expect(old.status).not.toBe(101);
    const offered = await rawUpgrade({ "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" });
    expect(offered.status).toBe(101);
    expect(offered.headers).not.toContain("permessage-deflate");
  });
});
