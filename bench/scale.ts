/**
 * Scale: the api's reads and sends on a database seeded (bulk inserts) with MESSAGES messages
 * in CONVERSATIONS conversations of 10 among USERS users, next to the same shape with no
 * messages at all. Ten users are in HEAVY conversations each (the conversation list measured).
 *
 * Measured through the real api process over HTTP, one request at a time (latency, not
 * throughput): history pages (newest, `before`, `after`), a heavy user's conversation list,
 * user search by a 2-letter prefix, and a send. Each on the seeded and the empty database.
 *
 *   bun bench/scale.ts [--messages 1000000] [--conversations 10000] [--users 10000] [--heavy 200]
 *     [--samples 300] [--engine postgresql|sqlite] [--out file]
 */
import { SQL } from "bun";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/infra.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { embeddedEngine, startTestInfra } from "../scripts/lib/testinfra.ts";
import { percentile } from "./lib/procs.ts";
import {
  seedConversations,
  seedMessages,
  seedUsers,
  tokenSigner,
  usernameOf,
  withDb,
  type SeededConversation,
  type SeededUser,
} from "./lib/seed.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    conversations: { type: "string", default: "10000" },
    users: { type: "string", default: "10000" },
    heavy: { type: "string", default: "200" },
    samples: { type: "string", default: "300" },
    engine: { type: "string", default: "postgresql" },
    out: { type: "string" },
  },
});
const MESSAGES = Number(args.messages);
const CONVERSATIONS = Number(args.conversations);
const USERS = Number(args.users);
const HEAVY = Number(args.heavy);
const SAMPLES = Number(args.samples);
const GROUP = 10;
const HEAVY_USERS = 10;
const JWT_SECRET = "bench-secret-0123456789-abcdefghijklmnop";
const perConversation = Math.floor(MESSAGES / CONVERSATIONS);

/** Members of conversation c: spread over all users; the heavy users 0..9 each in HEAVY of them. */
function membersOf(c: number): number[] {
  const members = new Set<number>();
  // heavy user h is in every conversation c with c % (CONVERSATIONS / HEAVY) === h: HEAVY of them
  const spacing = Math.floor(CONVERSATIONS / HEAVY);
  if (c % spacing < HEAVY_USERS) members.add(c % spacing);
  for (let k = 0; members.size < GROUP; k++)
    members.add(HEAVY_USERS + ((c * 7919 + k * 104_729) % (USERS - HEAVY_USERS)));
  return [...members];
}

type Figures = Record<string, { p50: number; p99: number; max: number; n: number }>;

async function measure(
  apiUrl: string,
  users: SeededUser[],
  convs: SeededConversation[],
  tokens: Map<string, string>,
  hasMessages: boolean,
): Promise<Figures> {
  const get = async (path: string, token: string) => {
    const t = performance.now();
    const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    return performance.now() - t;
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
  const memberToken = (c: SeededConversation) => tokens.get(c.memberIds[0]!)!;
  const cases: [string, () => Promise<number>][] = [
    [
      "history: newest page (50)",
      () => {
        const c = pick(convs);
        return get(`/api/conversations/${c.id}/messages`, memberToken(c));
      },
    ],
    [
      "history: a page before a seq (50)",
      () => {
        const c = pick(convs);
        const before = 2 + Math.floor(Math.random() * Math.max(1, perConversation - 1));
        return get(`/api/conversations/${c.id}/messages?before=${before}`, memberToken(c));
      },
    ],
    [
      "history: catch up after a seq (50)",
      () => {
        const c = pick(convs);
        return get(
          `/api/conversations/${c.id}/messages?after=${Math.floor(Math.random() * perConversation)}`,
          memberToken(c),
        );
      },
    ],
    [
      `conversation list of a user in ${HEAVY} conversations`,
      () => get("/api/conversations", tokens.get(users[Math.floor(Math.random() * HEAVY_USERS)]!.id)!),
    ],
    [
      "user search, 2-letter prefix",
      () => get(`/api/users?q=${usernameOf(Math.floor(Math.random() * USERS)).slice(0, 2)}`, tokens.get(users[0]!.id)!),
    ],
    [
      "user search, 4-letter prefix",
      () => get(`/api/users?q=${usernameOf(Math.floor(Math.random() * USERS)).slice(0, 4)}`, tokens.get(users[0]!.id)!),
    ],
    [
      "send a message",
      async () => {
        const c = pick(convs);
        const t = performance.now();
        const res = await fetch(`${apiUrl}/api/conversations/${c.id}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${memberToken(c)}` },
          body: JSON.stringify({ body: "a message sent at scale", clientId: `scale-${crypto.randomUUID()}` }),
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`send: ${res.status}`);
        return performance.now() - t;
      },
    ],
  ];
  const out: Figures = {};
  for (const [name, run] of cases) {
    for (let i = 0; i < 20; i++) await run(); // warm caches and JIT, not counted
    const ms: number[] = [];
    for (let i = 0; i < SAMPLES; i++) ms.push(await run());
    ms.sort((a, b) => a - b);
    out[name] = { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: ms.at(-1)!, n: ms.length };
    console.log(
      `  ${name}: p50 ${out[name].p50.toFixed(1)} ms, p99 ${out[name].p99.toFixed(1)} ms${hasMessages ? "" : " (empty)"}`,
    );
  }
  return out;
}

/**
 * What PostgreSQL's manual advises after a bulk load: VACUUM ANALYZE, so the measurement does
 * not share the disk with autovacuum's first pass over a million fresh rows (it otherwise
 * runs during the first requests measured, at up to 700 ms each).
 */
async function maintainAfterBulkLoad(postgresUrl: string | undefined) {
  if (!postgresUrl) return;
  const t = performance.now();
  const sql = new SQL(postgresUrl);
  try {
    await sql.unsafe("VACUUM ANALYZE");
  } finally {
    await sql.close();
  }
  console.log(`VACUUM ANALYZE in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

const loadBefore = loadavg();
const engine = embeddedEngine(args.engine);
const infra = await startTestInfra({ engine });
const logs = mkdtempSync(join(tmpdir(), "parley-bench-scale-"));
const results: { name: string; figures: Figures }[] = [];
let seedSeconds = 0;
try {
  const sign = await tokenSigner(JWT_SECRET);
  for (const [name, withMessages] of [
    ["empty", false],
    ["seeded", true],
  ] as const) {
    const url = `${infra.mongoUrl}scale_${name}`;
    console.log(
      `\n=== ${name}: seeding ${USERS} users, ${CONVERSATIONS} conversations${withMessages ? `, ${MESSAGES} messages` : ""}`,
    );
    const t0 = performance.now();
    const { users, convs } = await withDb(url, async (db) => {
      const users = await seedUsers(db, USERS);
      const convs = await seedConversations(
        db,
        users,
        Array.from({ length: CONVERSATIONS }, (_, c) => membersOf(c)),
      );
      if (withMessages) {
        await seedMessages(db, convs, perConversation, (n) => {
          const s = (performance.now() - t0) / 1000;
          console.log(`  ${n} messages after ${s.toFixed(0)} s (${(n / s).toFixed(0)}/s)`);
        });
      }
      return { users, convs };
    });
    if (withMessages) seedSeconds = (performance.now() - t0) / 1000;
    console.log(`seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await maintainAfterBulkLoad(infra.postgresUrl);
    const byId = new Map(users.map((u) => [u.id, u]));
    const signed = new Set([...users.slice(0, HEAVY_USERS), ...convs.map((c) => byId.get(c.memberIds[0]!)!)]);
    const tokens = new Map(await Promise.all([...signed].map(async (u) => [u.id, await sign(u)] as const)));
    const dir = join(logs, name);
    mkdirSync(dir);
    const stack = await startStack({
      mongoUrl: url,
      redisUrl: infra.redisUrl,
      jwtSecret: JWT_SECRET,
      replicas: 0,
      logs: dir,
      apiEnv: {
        SEND_RATE_MAX: "1000000",
        REGISTER_RATE_MAX: "1000000",
        CONVERSATION_CREATE_MAX: "1000000",
        LOG_LEVEL: "warn",
      },
      readyTimeoutMs: 600_000,
    });
    try {
      results.push({ name, figures: await measure(stack.apiUrl, users, convs, tokens, withMessages) });
    } finally {
      await stack.stop();
    }
  }
} finally {
  await infra.stop();
}

const [empty, seeded] = results;
const rows = Object.keys(seeded!.figures).map((k) => {
  const s = seeded!.figures[k]!;
  const e = empty!.figures[k]!;
  return `| ${k} | ${s.p50.toFixed(1)} | **${s.p99.toFixed(1)}** | ${s.max.toFixed(1)} | ${e.p50.toFixed(1)} | ${e.p99.toFixed(1)} |`;
});
const send = { seeded: seeded!.figures["send a message"]!.p99, empty: empty!.figures["send a message"]!.p99 };
const text = `# Scale: ${MESSAGES.toLocaleString("en")} messages, ${CONVERSATIONS.toLocaleString("en")} conversations, ${USERS.toLocaleString("en")} users

- command: \`bun bench/scale.ts ${process.argv.slice(2).join(" ")}\`
- when: ${new Date().toISOString()}; commit ${Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim()}
- database: ${infra.mongoKind}; machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average before ${loadBefore.map((x) => x.toFixed(2)).join(" ")}, after ${loadavg()
  .map((x) => x.toFixed(2))
  .join(" ")}
- seeding (bulk inserts of users, conversations, messages and read positions): ${seedSeconds.toFixed(0)} s
- shape: conversations of ${GROUP}, ${perConversation} messages each; ${HEAVY_USERS} users in ${HEAVY} conversations each; after seeding, \`VACUUM ANALYZE\` on the PostgreSQL behind FerretDB (as after any bulk load); requests one at a time to the api over HTTP, ${SAMPLES} samples each after 20 not counted; the "empty" database has the same users and conversations and no message

| request | p50 (ms) | p99 (ms) | max (ms) | empty db p50 | empty db p99 |
|---|---|---|---|---|---|
${rows.join("\n")}

Send p99 at ${MESSAGES.toLocaleString("en")} messages is ${((send.seeded / send.empty) * 100).toFixed(0)} % of its value on the empty database.
`;
const out = args.out ?? join(ROOT, "bench/results", `scale-${MESSAGES}.md`);
writeFileSync(out, text);
console.log(`\nwrote ${out}`);
process.exit(0);
