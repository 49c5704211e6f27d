/**
 * Issue 10, defect 4 on the realtime side: signing out closes the session's sockets on every
 * replica within seconds (4003, which the browser treats as "signed out"), a signed-out token
 * cannot open a new socket, the user's other sessions keep theirs, and "sign out everywhere"
 * closes them all.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import type { AuthResponse } from "@parley/contract";
import { CLOSE_CODES } from "@parley/contract/limits";
import { openSocket, upgradeRequest, type TestSocket } from "./helpers/socket.ts";
import { register, startTestStack, type TestUser } from "./helpers/stack.ts";

setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let r1: string;
let r2: string;
const sockets: TestSocket[] = [];
const open = async (url: string, token: string) => {
  const s = await openSocket(url, { token });
  sockets.push(s);
  return s;
};

beforeAll(async () => {
  stack = await startTestStack("revocation");
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

const json = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
async function signIn(u: TestUser): Promise<string> {
  const res = await fetch(`${r1}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: u.username, password: "correct horse battery" }),
  });
  return ((await res.json()) as AuthResponse).token;
}

describe("signing out closes sockets (defect 4)", () => {
  test("logout closes that session's sockets on both replicas with 4003; the other session's stay open", async () => {
    const user = await register(r1, "out");
    const other = await signIn(user);
    const [a1, a2] = [await open(r1, user.token), await open(r2, user.token)];
    const [b1, b2] = [await open(r1, other), await open(r2, other)];

    const started = Date.now();
    expect((await fetch(`${r2}/api/auth/logout`, { method: "POST", headers: json(user.token) })).status).toBe(204);
    for (const s of [a1, a2]) expect((await s.closed).code).toBe(CLOSE_CODES.signedOut);
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const s of [b1, b2]) expect(s.ws.readyState).toBe(WebSocket.OPEN);

    // the signed-out token cannot open a socket again
    const refused = await upgradeRequest(r1, { query: `?token=${user.token}` });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  test("sign out everywhere closes every socket of the user, on every replica", async () => {
    const user = await register(r1, "all");
    const tokens = [user.token, await signIn(user), await signIn(user)];
    const open3 = await Promise.all(tokens.flatMap((t) => [open(r1, t), open(r2, t)]));
    const bystander = await register(r1, "by");
    const theirs = await open(r1, bystander.token);
    expect(
      (await fetch(`${r1}/api/auth/logout-everywhere`, { method: "POST", headers: json(tokens[1]!) })).status,
    ).toBe(204);
    for (const s of open3) expect((await s.closed).code).toBe(CLOSE_CODES.signedOut);
    expect(theirs.ws.readyState).toBe(WebSocket.OPEN);
    for (const t of tokens) expect((await upgradeRequest(r2, { query: `?token=${t}` })).status).toBe(401);
  });
});
