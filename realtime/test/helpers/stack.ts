/**
 * The real processes for a test file: the api and two realtime replicas (scripts/lib/stack.ts,
 * the production start path), plus REST helpers to create users and conversations.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthResponse, Conversation, Message } from "@parley/contract";
import { startStack, type Stack, type StackOptions } from "../../../scripts/lib/stack.ts";
import { JWT_SECRET, testMongoUrl, testRedisUrl } from "./env.ts";

export async function startTestStack(
  name: string,
  opts: Partial<StackOptions> = {},
): Promise<Stack & { logDir: string }> {
  const logDir = mkdtempSync(join(tmpdir(), `parley-rt-${name}-`));
  const stack = await startStack({
    mongoUrl: testMongoUrl(name),
    redisUrl: testRedisUrl,
    jwtSecret: JWT_SECRET,
    logs: process.env.TEST_LOGS === "inherit" ? "inherit" : logDir,
    replicas: 2,
    ...opts,
    // many users and conversations from one address: the abuse limits would get in the way
    apiEnv: {
      SEND_RATE_MAX: "100000",
      REGISTER_RATE_MAX: "100000",
      CONVERSATION_CREATE_MAX: "100000",
      ...opts.apiEnv,
    },
    realtimeEnv: { STATIC_DIR: join(logDir, "no-frontend"), ...opts.realtimeEnv },
  });
  return { ...stack, logDir };
}

export type TestUser = { id: string; username: string; token: string };

let n = 0;
export async function register(baseUrl: string, prefix = "u"): Promise<TestUser> {
  const username = `${prefix}${process.pid % 10000}_${Date.now() % 100000}_${n++}`.slice(0, 32);
  const res = await fetch(`${baseUrl}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse battery" }),
  });
  if (res.status !== 201) throw new Error(`register answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as AuthResponse;
  return { id: body.user.id, username: body.user.username, token: body.token };
}

const authed = (u: TestUser) => ({ authorization: `Bearer ${u.token}`, "content-type": "application/json" });

export async function createConversation(
  baseUrl: string,
  creator: TestUser,
  others: TestUser[],
  title?: string,
): Promise<Conversation> {
  const res = await fetch(`${baseUrl}/api/conversations`, {
    method: "POST",
    headers: authed(creator),
    body: JSON.stringify({ memberIds: others.map((o) => o.id), ...(title ? { title } : {}) }),
  });
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`create conversation answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { conversation: Conversation }).conversation;
}

export async function sendMessage(
  baseUrl: string,
  sender: TestUser,
  conversationId: string,
  body: string,
): Promise<Message> {
  const res = await fetch(`${baseUrl}/api/conversations/${conversationId}/messages`, {
    method: "POST",
    headers: authed(sender),
    body: JSON.stringify({ body, clientId: crypto.randomUUID().replace(/-/g, "") }),
  });
  if (res.status !== 201) throw new Error(`send answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { message: Message }).message;
}

export async function isOnline(baseUrl: string, viewer: TestUser, user: TestUser): Promise<boolean | undefined> {
  const res = await fetch(`${baseUrl}/api/users?q=${encodeURIComponent(user.username)}`, { headers: authed(viewer) });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { users: { id: string; online: boolean }[] };
  return body.users.find((u) => u.id === user.id)?.online;
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString("base64url");

/** A JWT built by hand with the shared secret, for tokens the api would never issue (expired,
 * short-lived, alg "none", wrong audience…). */
export function signToken(
  claims: Record<string, unknown>,
  opts: { secret?: string; alg?: "HS256" | "none" } = {},
): string {
  const alg = opts.alg ?? "HS256";
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg, typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({
      iss: "parley",
      aud: "parley",
      iat: now,
      exp: now + 3600,
      sid: b64url(Buffer.from(crypto.getRandomValues(new Uint8Array(16)))),
      sat: Date.now(),
      ...claims,
    }),
  );
  const signature =
    alg === "none"
      ? ""
      : createHmac("sha256", opts.secret ?? JWT_SECRET)
          .update(`${header}.${payload}`)
          .digest("base64url");
  return `${header}.${payload}.${signature}`;
}

/** One realtime process started directly (the production entry point) with extra env, for
 * cases startStack does not cover (an allowlist, no api at all). */
export async function spawnRealtime(
  env: Record<string, string>,
  logFile: string,
): Promise<{ url: string; opsUrl: string; proc: Bun.Subprocess; stop(): Promise<void> }> {
  const { BUN } = await import("../../../scripts/lib/stack.ts");
  const { ROOT } = await import("../../../scripts/lib/infra.ts");
  const { freePort, waitFor, httpOk } = await import("../../../scripts/lib/ports.ts");
  const port = String(env.PORT ?? (await freePort()));
  const opsPort = String(env.OPS_PORT ?? (await freePort()));
  const proc = Bun.spawn([BUN, join(ROOT, "realtime/src/index.ts")], {
    env: {
      ...process.env,
      REDIS_URL: testRedisUrl,
      JWT_SECRET,
      STATIC_DIR: "/nonexistent",
      ...env,
      PORT: port,
      OPS_PORT: opsPort,
    },
    stdout: Bun.file(logFile),
    stderr: Bun.file(`${logFile}.err`),
  });
  const url = `http://127.0.0.1:${port}`;
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  await waitFor(`realtime on ${port}`, () => httpOk(`${opsUrl}/readyz`), 30_000);
  return {
    url,
    opsUrl,
    proc,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
