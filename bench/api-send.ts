/**
 * Send benchmark: throwaway Redis + FerretDB, the real api process (scripts/lib/stack.ts,
 * 0 realtime replicas), CLIENTS concurrent clients spread over CONVERSATIONS conversations
 * driving POST /api/conversations/:id/messages until REQUESTS sends are done.
 *
 * Two peers on the same database and load shape, to read the api's figure against:
 *  - "service": the api's own send function in-process (no HTTP, no auth, no JSON): what the
 *    HTTP layer costs on top of the seq allocation + fan-out.
 *  - "floor": a bare mongoose insert loop with seq counted in memory (no lookup, no conflict
 *    handling, no conversation update, no Redis): the database's insert cost alone. Not a
 *    competitor: it gives up every guarantee the api gives.
 *
 *   bun bench/api-send.ts            (env: CLIENTS=20 CONVERSATIONS=10 REQUESTS=3000)
 */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import mongoose, { Schema } from "mongoose";
import { createLogger } from "@parley/kit/log";
import { startTestInfra } from "../scripts/lib/testinfra.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { ROOT } from "../scripts/lib/infra.ts";
import { openDeps } from "../api/src/app.ts";
import { loadConfig } from "../api/src/config.ts";
import * as messages from "../api/src/modules/messages/service.ts";

const CLIENTS = Number(process.env.CLIENTS ?? 20);
const CONVERSATIONS = Number(process.env.CONVERSATIONS ?? 10);
const REQUESTS = Number(process.env.REQUESTS ?? 3000);
const JWT_SECRET = "bench-secret-0123456789-abcdefghijklmnop";

type Result = { name: string; ms: number[]; wallMs: number; errors: Record<string, number> };

/** CLIENTS workers take the next request number until REQUESTS are done (bounded loop). */
async function drive(name: string, one: (client: number, n: number) => Promise<string | null>): Promise<Result> {
  const ms: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = next++; n < REQUESTS; n = next++) {
        const s = performance.now();
        const err = await one(client, n).catch((e: unknown) => String((e as Error).message ?? e).slice(0, 60));
        ms.push(performance.now() - s);
        if (ms.length % Math.max(1, Math.floor(REQUESTS / 5)) === 0)
          console.log(`  ${name}: ${ms.length}/${REQUESTS} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        if (err) errors[err] = (errors[err] ?? 0) + 1;
      }
    }),
  );
  return { name, ms, wallMs: performance.now() - t0, errors };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
function summary(r: Result) {
  const s = [...r.ms].sort((a, b) => a - b);
  return {
    name: r.name,
    n: s.length,
    p50: pct(s, 50),
    p95: pct(s, 95),
    p99: pct(s, 99),
    max: s.at(-1) ?? 0,
    rps: (s.length / r.wallMs) * 1000,
    errors: r.errors,
  };
}

const loadBefore = loadavg()[0]!;
const infra = await startTestInfra();
const mongoKind = infra.mongoKind;
const logs = mkdtempSync(join(tmpdir(), "parley-bench-"));
console.log(`infra: ${infra.mongoKind} + redis; logs in ${logs}`);
const results: ReturnType<typeof summary>[] = [];
try {
  // ---------- the api over HTTP ----------
  const stack = await startStack({
    mongoUrl: `${infra.mongoUrl}bench_http`,
    redisUrl: infra.redisUrl,
    jwtSecret: JWT_SECRET,
    replicas: 0,
    logs,
    apiEnv: { SEND_RATE_MAX: "1000000", LOG_LEVEL: "warn" },
  });
  try {
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${stack.apiUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const users: { token: string; id: string }[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const res = await post("/api/auth/register", { username: `bench_${i}`, password: "bench-password" });
      const j = (await res.json()) as { token: string; user: { id: string } };
      users.push({ token: j.token, id: j.user.id });
    }
    // client i sends into conversation i % CONVERSATIONS, whose members are all clients mapped to it
    const convIds: string[] = [];
    for (let c = 0; c < CONVERSATIONS; c++) {
      const members = users.filter((_, i) => i % CONVERSATIONS === c);
      const res = await post(
        "/api/conversations",
        {
          memberIds: members
            .slice(1)
            .map((u) => u.id)
            .concat(members.length === 1 ? [users[(c + 1) % users.length]!.id] : []),
          title: `bench ${c}`,
        },
        members[0]!.token,
      );
      convIds.push(((await res.json()) as { conversation: { id: string } }).conversation.id);
    }
    const http = await drive("api over HTTP (real process)", async (client, n) => {
      const res = await post(
        `/api/conversations/${convIds[client % CONVERSATIONS]}/messages`,
        { body: `message ${n}`, clientId: `h${n}` },
        users[client]!.token,
      );
      await res.arrayBuffer();
      return res.status === 201 ? null : `HTTP ${res.status}`;
    });
    results.push(summary(http));
    const metrics = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    console.log(
      metrics
        .split("\n")
        .filter((l) => /^parley_(messages_sent|seq_conflicts|publish_failures)/.test(l))
        .join("\n"),
    );
  } finally {
    await stack.stop();
  }

  // ---------- the same send function in-process (no HTTP) ----------
  const deps = openDeps(
    loadConfig({
      JWT_SECRET,
      MONGO_URL: `${infra.mongoUrl}bench_service`,
      REDIS_URL: infra.redisUrl,
      SEND_RATE_MAX: "1000000",
      LOG_LEVEL: "silent",
    }),
    createLogger("bench", "silent"),
  );
  try {
    while (!(await deps.db.ready())) await Bun.sleep(50);
    const now = new Date();
    const users = await deps.db.User.create(
      Array.from({ length: CLIENTS }, (_, i) => ({
        username: `s${i}`,
        usernameLower: `s${i}`,
        passwordHash: "x",
        createdAt: now,
      })),
    );
    const convs = await deps.db.Conversation.create(
      Array.from({ length: CONVERSATIONS }, (_, c) => ({
        kind: "group",
        title: null,
        memberIds: users.filter((_, i) => i % CONVERSATIONS === c).map((u) => u._id),
        directKey: `group:bench${c}`,
        lastSeq: 0,
        lastActivityAt: now,
        createdAt: now,
      })),
    );
    const service = await drive("api send function in-process (no HTTP)", async (client, n) => {
      await messages.send(deps, convs[client % CONVERSATIONS]!._id.toHexString(), users[client]!._id.toHexString(), {
        body: `message ${n}`,
        clientId: `s${n}`,
      });
      return null;
    });
    results.push(summary(service));
  } finally {
    await deps.close();
  }

  // ---------- floor: bare mongoose inserts ----------
  const conn = await mongoose
    .createConnection(`${infra.mongoUrl}bench_floor`, { serverSelectionTimeoutMS: 5000 })
    .asPromise();
  try {
    const Msg = conn.model(
      "Msg",
      new Schema({
        conversationId: String,
        seq: Number,
        senderId: String,
        body: String,
        clientId: String,
        createdAt: Date,
      }).index({ conversationId: 1, seq: 1 }, { unique: true }),
    );
    await Msg.init();
    const seqs = new Array<number>(CONVERSATIONS).fill(0);
    const floor = await drive("floor: bare mongoose insert (no HTTP, seq counted in memory)", async (client, n) => {
      const c = client % CONVERSATIONS;
      await Msg.create({
        conversationId: `c${c}`,
        seq: ++seqs[c]!,
        senderId: `u${client}`,
        body: `message ${n}`,
        clientId: `f${n}`,
        createdAt: new Date(),
      });
      return null;
    });
    results.push(summary(floor));
  } finally {
    await conn.close();
  }
} finally {
  await infra.stop();
}

const f = (x: number) => x.toFixed(1);
const table = [
  "| run | requests | p50 ms | p95 ms | p99 ms | max ms | throughput /s | errors |",
  "|---|---|---|---|---|---|---|---|",
  ...results.map(
    (r) =>
      `| ${r.name} | ${r.n} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.rps)} | ${Object.keys(r.errors).length ? JSON.stringify(r.errors) : "none"} |`,
  ),
].join("\n");
console.log(table);

const cpu = cpus();
const md = `# api send benchmark

- date: ${new Date().toISOString()}
- machine: ${cpu.length} cores (${cpu[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}; Bun ${Bun.version}
- database: ${mongoKind} (throwaway, scripts/lib/testinfra.ts), Redis 7 local; api, database and load generator share the 2 cores
- 1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after (other work on the machine shows up here; the figures move with it)
- load: ${CLIENTS} concurrent clients, ${CONVERSATIONS} conversations (client i → conversation i mod ${CONVERSATIONS}), ${REQUESTS} sends, each client sending its next message as soon as the previous answered
- command: \`bun bench/api-send.ts\` (CLIENTS, CONVERSATIONS, REQUESTS env vars)

${table}

What the rows mean:
- **api over HTTP**: the real api process (\`bun api/src/index.ts\` via scripts/lib/stack.ts, 0 realtime replicas):
  JWT check, validation, membership check, idempotency lookup, per-user rate-limit counter in Redis,
  unique-index seq allocation (retry on conflict), lastSeq / read-position raise loops, fan-out publish.
  Every request answered 201 and carries the no-gap / no-duplicate guarantee.
- **api send function in-process**: the same \`messages.send\` without HTTP, JSON or JWT: the HTTP layer costs the difference.
- **floor**: one bare \`Model.create\` per request with seq counted in memory: the database's own insert cost.
  It is not a competitor: it has no idempotency, no conflict handling, no conversation state and no fan-out,
  and it is only correct because it runs in one process. The gap to it is the price of the guarantees on a
  database without atomic updates (per send: conversation and message looked up by _id, the insert, lastSeq and the sender's read position raised with a read + conditional update each, plus a Redis rate-limit counter and the publish pipeline — about 7 database round trips instead of 1, and every update takes FerretDB-SQLite's single write lock).
`;
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
// the default shape owns api-send.md; other shapes get their own file instead of replacing it
const isDefault = CLIENTS === 20 && CONVERSATIONS === 10 && REQUESTS === 3000;
const out = isDefault
  ? "bench/results/api-send.md"
  : `bench/results/api-send-${CLIENTS}c-${CONVERSATIONS}conv-${REQUESTS}.md`;
writeFileSync(join(ROOT, out), md);
console.log(`wrote ${out}`);
