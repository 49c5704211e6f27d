/**
 * `npm run fuzz`: the api fuzzed from its own OpenAPI document with Schemathesis (from PyPI,
 * installed once into .tools/venv), then random and malformed WebSocket frames thrown at
 * realtime, against a throwaway stack (Redis, the database, the api, two realtime replicas).
 *
 *   npm run fuzz                      # 100 examples per api operation, 20,000 socket frames
 *   npm run fuzz -- --examples 500 --frames 100000 --seed 7
 *
 * The api run fails on any 5xx, any answer whose status, Content-Type or body is not what the
 * document says for it, and any invalid input the api accepted. Sign-out operations run last
 * with their own token (they end the session the rest uses). Exit code 0 only when both parts
 * found nothing. Reports go to .tools/fuzz-report/.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AuthResponse, ConversationResponse } from "@parley/contract";
import { ROOT } from "./lib/infra.ts";
import { startStack } from "./lib/stack.ts";
import { startTestInfra } from "./lib/testinfra.ts";

const SCHEMATHESIS = "schemathesis==4.32.5";
const VENV = join(ROOT, ".tools/venv");
const BIN = join(VENV, "bin/schemathesis");
const REPORTS = join(ROOT, ".tools/fuzz-report");

const { values } = parseArgs({
  options: {
    examples: { type: "string", default: "100" },
    frames: { type: "string", default: "20000" },
    seed: { type: "string", default: String(Date.now() % 1_000_000) },
    "api-only": { type: "boolean", default: false },
  },
});

function ensureSchemathesis(): void {
  if (existsSync(BIN)) return;
  console.log(`[fuzz] installing ${SCHEMATHESIS} into .tools/venv (once)…`);
  for (const cmd of [
    ["python3", "-m", "venv", VENV],
    [join(VENV, "bin/pip"), "install", "-q", SCHEMATHESIS],
  ]) {
    const r = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit" });
    if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (python3 with venv and pip is needed)`);
  }
}

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function schemathesis(apiUrl: string, token: string, extra: string[], report: string): number {
  const args = [
    "run",
    `${apiUrl}/api/openapi.json`,
    "--url",
    apiUrl,
    "--header",
    `Authorization: Bearer ${token}`,
    "--checks",
    "all",
    // Excluded on purpose: these judge business answers, not robustness. positive_data_acceptance
    // expects every schema-valid request to succeed, but a valid id of a conversation you are not
    // in is 404 and a valid login of an unknown user is 401, by design; use_after_free and
    // ensure_resource_availability guess at REST resource life cycles this api does not have
    // (nothing is deleted).
    "--exclude-checks",
    "positive_data_acceptance,use_after_free,ensure_resource_availability",
    "--max-examples",
    values.examples!,
    "--seed",
    values.seed!,
    "--workers",
    "2",
    "--report",
    "junit",
    "--report-dir",
    join(REPORTS, report),
    "--no-color",
    ...extra,
  ];
  // its example database goes beside the reports, not into the checkout
  const r = Bun.spawnSync([BIN, ...args], { cwd: REPORTS, stdout: "inherit", stderr: "inherit", env: process.env });
  return r.exitCode ?? 1;
}

async function main(): Promise<number> {
  ensureSchemathesis();
  mkdirSync(REPORTS, { recursive: true });
  const infra = await startTestInfra();
  const logs = mkdtempSync(join(tmpdir(), "parley-fuzz-"));
  // limits that would only slow the fuzzer down; the fuzzer's own address is 127.0.0.1
  const generous = {
    SEND_RATE_MAX: "1000000",
    REGISTER_RATE_MAX: "1000000",
    CONVERSATION_CREATE_MAX: "1000000",
    LOGIN_MAX_FAILURES: "10000",
    LOGIN_USER_MAX_FAILURES: "1000000",
    LOG_LEVEL: "warn",
  };
  const stack = await startStack({
    mongoUrl: `${infra.mongoUrl.replace(/\/?$/, "/")}fuzz`,
    redisUrl: infra.redisUrl,
    jwtSecret: `${crypto.randomUUID()}${crypto.randomUUID()}`,
    logs,
    replicas: 2,
    apiEnv: generous,
    realtimeEnv: { LOG_LEVEL: "warn", STATIC_DIR: join(logs, "none") },
  });
  try {
    const name = (p: string) => `${p}_${Math.random().toString(36).slice(2, 8)}`;
    const reg = (u: string) =>
      post<AuthResponse>(`${stack.apiUrl}/api/auth/register`, { username: u, password: "fuzz-password-1" });
    const [me, other, third] = [await reg(name("fz")), await reg(name("fo")), await reg(name("ft"))];
    const { conversation } = await post<ConversationResponse>(
      `${stack.apiUrl}/api/conversations`,
      { memberIds: [other.user.id, third.user.id], title: "fuzz" },
      me.token,
    );
    await post(
      `${stack.apiUrl}/api/conversations/${conversation.id}/messages`,
      { body: "hello", clientId: "fuzz-1" },
      me.token,
    );
    console.log(`[fuzz] api: ${values.examples} examples per operation, seed ${values.seed}; logs in ${logs}`);
    const signOut = "^/api/auth/logout";
    const main = schemathesis(stack.apiUrl, me.token, ["--exclude-path-regex", signOut], "api");
    const outs = schemathesis(stack.apiUrl, other.token, ["--include-path-regex", signOut], "sign-out");
    let ws = 0;
    if (!values["api-only"]) {
      // the socket fuzzer is the realtime test's, at a larger size
      console.log(`[fuzz] websocket: ${values.frames} frames, seed ${values.seed}`);
      const r = Bun.spawnSync([process.execPath, "test", "./test/fuzz.test.ts", "--timeout", String(3_600_000)], {
        cwd: join(ROOT, "realtime"),
        stdout: "inherit",
        stderr: "inherit",
        env: {
          ...process.env,
          TEST_MONGO_URL: infra.mongoUrl,
          TEST_REDIS_URL: infra.redisUrl,
          FUZZ_WS_FRAMES: values.frames,
          FUZZ_SEED: values.seed,
          LOG_LEVEL: "warn",
        },
      });
      ws = r.exitCode ?? 1;
    }
    console.log(
      `[fuzz] api: ${main === 0 ? "no failure" : "FAILURES"}; sign-out: ${outs === 0 ? "no failure" : "FAILURES"}; websocket: ${values["api-only"] ? "skipped" : ws === 0 ? "no failure" : "FAILURES"} (reports in ${REPORTS})`,
    );
    return main || outs || ws;
  } finally {
    await stack.stop();
    await infra.stop();
  }
}

process.exit(await main());
