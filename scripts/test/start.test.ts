/**
 * The local runner (`npm start` → scripts/start.ts), run for real: it starts Redis, the
 * database, the api and two realtime replicas; everything answers; Ctrl-C leaves no process;
 * a second run keeps the data; a busy port is named.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../lib/infra.ts";
import { tcpOpen } from "../lib/system.ts";
import { freePort, httpOk, isPortFree, waitFor } from "../lib/ports.ts";
import { BUN } from "../lib/stack.ts";

const dataDir = mkdtempSync(join(tmpdir(), "parley-start-"));
// searchable by others, as a data folder of one's own usually is: PostgreSQL runs as its own account under root
chmodSync(dataDir, 0o711);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function ports() {
  return {
    API_PORT: await freePort(),
    WEB_PORT: await freePort(),
    WEB_PORT_2: await freePort(),
    OPS_PORT: await freePort(),
    OPS_PORT_2: await freePort(),
    REDIS_PORT: await freePort(),
    MONGO_PORT: await freePort(),
  };
}

/** Every `npm start` this file ran: one still running after a test (a failed assertion) is stopped. */
const started: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const proc of started.splice(0)) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    proc.kill("SIGINT");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
  }
});

function startParley(p: Record<string, number>) {
  const env: Record<string, string> = { ...process.env, PARLEY_DATA_DIR: dataDir, LOG_LEVEL: "warn" } as Record<
    string,
    string
  >;
  for (const [k, v] of Object.entries(p)) env[k] = String(v);
  delete env.MONGO_URL;
  delete env.REDIS_URL;
  delete env.JWT_SECRET;
  const proc = Bun.spawn([BUN, join(ROOT, "scripts/start.ts")], { env, stdout: "pipe", stderr: "pipe" });
  started.push(proc);
  return proc;
}

async function stopParley(proc: Bun.Subprocess, p: Record<string, number>) {
  proc.kill("SIGINT");
  expect(await proc.exited).toBe(0);
  // Nothing is left listening on any of the ports it used. Asked by connecting, not by binding:
  // a bind can also fail because an unrelated outgoing connection took the number as its local
  // port after Parley let go of it (seen once in CI), which says nothing about Parley.
  const listening: string[] = [];
  for (const [name, port] of Object.entries(p)) if (await tcpOpen(port)) listening.push(name);
  expect(listening).toEqual([]);
}

test("starts everything, answers health checks, stops cleanly and keeps data across runs", async () => {
  const p = await ports();
  const web = `http://127.0.0.1:${p.WEB_PORT}`;
  const first = startParley(p);
  // readiness and metrics on each replica's ops port, never its web port
  await waitFor("realtime replica 2 to be ready", () => httpOk(`http://127.0.0.1:${p.OPS_PORT_2}/readyz`), 120_000);
  expect((await fetch(`http://127.0.0.1:${p.WEB_PORT_2}/metrics`)).status).toBe(404);
  for (const port of [p.API_PORT, p.WEB_PORT, p.WEB_PORT_2]) {
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }
  const ready = await fetch(`http://127.0.0.1:${p.API_PORT}/readyz`);
  expect(ready.status).toBe(200);
  expect(JSON.stringify(await ready.json())).toMatch(/mongo.*up|up.*mongo/i);
  expect((await fetch(`${web}/`)).status).toBe(200);

  const credentials = { username: `keeper${Date.now() % 100000}`, password: "correct horse battery" };
  const reg = await fetch(`${web}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  expect(reg.status).toBe(201);
  await stopParley(first, p);

  const second = startParley(p);
  await waitFor("realtime replica 1 to be ready again", () => httpOk(`http://127.0.0.1:${p.OPS_PORT}/readyz`), 120_000);
  const login = await fetch(`${web}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  expect(login.status).toBe(200);
  await stopParley(second, p);
}, 300_000);

test("Ctrl-C in the middle of start-up stops what was already started", async () => {
  const p = await ports();
  const proc = startParley(p);
  // the api answers before the replicas are ready: stop there, while start-up is still waiting on them
  await waitFor("the api to answer", () => httpOk(`http://127.0.0.1:${p.API_PORT}/healthz`), 120_000);
  await stopParley(proc, p);
}, 180_000);

test("a busy port is named and nothing starts", async () => {
  const p = await ports();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(p.WEB_PORT, "0.0.0.0", resolve));
  try {
    const proc = startParley(p);
    const code = await proc.exited;
    const stderr = await new Response(proc.stderr).text();
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${p.WEB_PORT}`);
    expect(stderr).toContain("WEB_PORT");
    expect(await isPortFree(p.API_PORT)).toBe(true);
  } finally {
    blocker.close();
  }
}, 60_000);
