/**
 * Fan-out latency benchmark (loopback only, bounded in count and time).
 *
 * Starts throwaway Redis + MongoDB-compatible server, the api and two realtime replicas; USERS
 * users each hold one socket (alternating replicas) and sit in groups of GROUP; messages are
 * sent over REST at RATE per second for SECONDS seconds. Reports the realtime histogram
 * `realtime_fanout_latency_seconds{type="message"}` (commit → socket write, both replicas
 * merged) and, as a cross-check, the latency clients observe (REST send start → frame received).
 *
 * Phase 2 isolates realtime: the bench publishes FanoutEvents itself on the members' user
 * channels (exactly what the api publishes after a commit) at DIRECT_RATE per second, so the
 * database and the api are out of the path.
 *
 *   node_modules/.bin/bun bench/fanout.ts [--users 50] [--group 5] [--rate 5] [--direct-rate 100] [--seconds 20]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Redis from "ioredis";
import type { AuthResponse, Conversation, Message } from "@parley/contract";
import type { FanoutEvent, ServerFrame } from "@parley/contract/frames";
import { EventRouter } from "@parley/kit/route";
import { ROOT } from "../scripts/lib/infra.ts";
import { startStack } from "../scripts/lib/stack.ts";
import { startTestInfra } from "../scripts/lib/testinfra.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "50" },
    group: { type: "string", default: "5" },
    rate: { type: "string", default: "5" },
    "direct-rate": { type: "string", default: "100" },
    seconds: { type: "string", default: "20" },
    out: { type: "string", default: join(ROOT, "bench/results/fanout.md") },
  },
});
const USERS = Math.min(Number(values.users), 500);
const GROUP = Math.max(2, Number(values.group));
const RATE = Math.min(Number(values.rate), 500);
const SECONDS = Math.min(Number(values.seconds), 120);
const TOTAL = RATE * SECONDS;
const DIRECT_RATE = Math.min(Number(values["direct-rate"]), 2000);
const DIRECT_TOTAL = DIRECT_RATE * SECONDS;

type User = { id: string; token: string };
const json = { "content-type": "application/json" };

async function post<T>(url: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...json, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** p-quantile from Prometheus cumulative buckets (linear within a bucket, like histogram_quantile). */
function histogramQuantile(buckets: [number, number][], q: number): number {
  const total = buckets[buckets.length - 1]![1];
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return NaN;
}

async function scrapeBuckets(urls: string[]): Promise<[number, number][]> {
  const merged = new Map<number, number>();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^realtime_fanout_latency_seconds_bucket\{([^}]*)\} (\d+)/gm)) {
      if (!m[1]!.includes('type="message"')) continue;
      const le = m[1]!.match(/le="([^"]+)"/)![1]!;
      const key = le === "+Inf" ? Infinity : Number(le);
      merged.set(key, (merged.get(key) ?? 0) + Number(m[2]));
    }
  }
  return [...merged.entries()].sort((a, b) => a[0] - b[0]);
}

const infra = await startTestInfra();
const logs = mkdtempSync(join(tmpdir(), "parley-bench-"));
const stack = await startStack({
  mongoUrl: `${infra.mongoUrl.replace(/\/?$/, "/")}bench_fanout`,
  redisUrl: infra.redisUrl,
  jwtSecret: crypto.randomUUID() + crypto.randomUUID(),
  logs,
  replicas: 2,
  apiEnv: {
    SEND_RATE_MAX: "1000000",
    REGISTER_RATE_MAX: "1000000",
    CONVERSATION_CREATE_MAX: "1000000",
    LOG_LEVEL: "warn",
  },
  realtimeEnv: { LOG_LEVEL: "warn", STATIC_DIR: join(logs, "none") },
});
const [r1, r2] = stack.realtimeUrls as [string, string];
const deadline = Date.now() + (SECONDS + 120) * 1000;
try {
  console.error(`[bench] ${USERS} users, groups of ${GROUP}, ${RATE} msg/s for ${SECONDS} s (${TOTAL} messages)`);
  const users: User[] = [];
  for (let i = 0; i < USERS; i++) {
    const r = await post<AuthResponse>(`${stack.apiUrl}/api/auth/register`, {
      username: `bench_${i}_${Date.now() % 100000}`,
      password: "bench-password-1",
    });
    users.push({ id: r.user.id, token: r.token });
  }
  const groups: { conv: Conversation; members: User[] }[] = [];
  for (let g = 0; g * GROUP < USERS; g++) {
    const members = users.slice(g * GROUP, (g + 1) * GROUP);
    if (members.length < 2) break;
    const { conversation } = await post<{ conversation: Conversation }>(
      `${stack.apiUrl}/api/conversations`,
      { memberIds: members.slice(1).map((m) => m.id), title: `g${g}` },
      members[0]!.token,
    );
    groups.push({ conv: conversation, members });
  }

  const sentAt = new Map<string, number>(); // clientId → ms (performance.now)
  let clientLatencies: number[] = [];
  let received = 0;
  const sockets: WebSocket[] = [];
  await Promise.all(
    users.map(
      (u, i) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${(i % 2 ? r2 : r1).replace("http", "ws")}/ws?token=${u.token}`);
          ws.onmessage = (e) => {
            const f = JSON.parse(String(e.data)) as ServerFrame;
            if (f.type === "ready") resolve();
            if (f.type === "message") {
              received++;
              const t0 = sentAt.get(f.message.clientId);
              if (t0 !== undefined) clientLatencies.push(performance.now() - t0);
            }
          };
          ws.onerror = () => reject(new Error("socket failed"));
          sockets.push(ws);
        }),
    ),
  );
  console.error(`[bench] ${sockets.length} sockets open`);

  /** Sends `total` messages at `rate`/s through `send`, then waits (bounded) for every delivery. */
  async function phase(
    name: string,
    rate: number,
    total: number,
    send: (n: number, group: (typeof groups)[number]) => Promise<boolean>,
  ) {
    console.error(`[bench] ${name}: ${total} messages at ${rate}/s`);
    const before = await scrapeBuckets(stack.realtimeOpsUrls);
    received = 0;
    clientLatencies = [];
    let expected = 0;
    const start = performance.now();
    const inflight: Promise<void>[] = [];
    for (let n = 0; n < total && Date.now() < deadline; n++) {
      const wait = start + (n * 1000) / rate - performance.now();
      if (wait > 0) await Bun.sleep(wait);
      const group = groups[n % groups.length]!;
      sentAt.set(`${name}${n}`, performance.now());
      inflight.push(send(n, group).then((ok) => void (ok && (expected += group.members.length))));
    }
    await Promise.all(inflight);
    const seconds = (performance.now() - start) / 1000;
    const drainUntil = Date.now() + 15_000;
    while (received < expected && Date.now() < drainUntil) await Bun.sleep(100);
    const after = await scrapeBuckets(stack.realtimeOpsUrls);
    const buckets = after.map(([le, c], i) => [le, c - (before[i]?.[1] ?? 0)] as [number, number]);
    return {
      name,
      rate,
      total,
      seconds,
      expected,
      received,
      buckets,
      client: [...clientLatencies].sort((a, b) => a - b),
    };
  }

  const sendStats = { retries: 0, failed: 0 };
  // A send the api refused with 5xx (FerretDB/SQLite "database is locked" under concurrent
  // writes) is retried with the same clientId, which the api deduplicates; counted below.
  const rest = await phase("rest", RATE, TOTAL, async (n, group) => {
    const sender = group.members[n % group.members.length]!;
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await post<{ message: Message }>(
          `${stack.apiUrl}/api/conversations/${group.conv.id}/messages`,
          { body: `m${n}`, clientId: `rest${n}` },
          sender.token,
        );
        return true;
      } catch {
        if (attempt < 5) {
          sendStats.retries++;
          await Bun.sleep(50 * attempt);
        }
      }
    }
    sendStats.failed++;
    return false;
  });

  const publisher = new Redis(infra.redisUrl);
  const router = new EventRouter(publisher);
  const direct = await phase("direct", DIRECT_RATE, DIRECT_TOTAL, async (n, group) => {
    const now = new Date();
    const message: Message = {
      id: (0x100000 + n).toString(16).padStart(24, "0"),
      conversationId: group.conv.id,
      seq: 1_000_000 + n,
      senderId: group.members[0]!.id,
      body: `d${n}`,
      clientId: `direct${n}`,
      createdAt: now.toISOString(),
      kind: "text",
      system: null,
      replyTo: null,
      mentions: [],
      editedAt: null,
      deleted: false,
      reactions: [],
      version: 0,
    };
    const event = JSON.stringify({
      frame: { type: "message", message },
      committedAt: Date.now(),
    } satisfies FanoutEvent);
    await router.publishOrThrow([{ userIds: group.members.map((m) => m.id), payload: event }]);
    return true;
  });
  await publisher.quit();

  const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
  const row = (p: Awaited<ReturnType<typeof phase>>, label: string) => {
    const samples = p.buckets[p.buckets.length - 1]?.[1] ?? 0;
    return [
      `| ${label} | histogram \`realtime_fanout_latency_seconds{type="message"}\` (both replicas) | ${ms(histogramQuantile(p.buckets, 0.5))} | ${ms(histogramQuantile(p.buckets, 0.99))} | ${samples} |`,
      `| ${label} | client-observed (send start → frame at the socket) | ${quantile(p.client, 0.5).toFixed(1)} ms | ${quantile(p.client, 0.99).toFixed(1)} ms | ${p.client.length} |`,
    ].join("\n");
  };
  const phaseLine = (p: Awaited<ReturnType<typeof phase>>) =>
    `${p.name}: ${p.total} messages at ${p.rate}/s, send phase took ${p.seconds.toFixed(1)} s; ${p.expected} socket deliveries expected, ${p.received} received`;
  const bucketTable = (p: Awaited<ReturnType<typeof phase>>) =>
    p.buckets.map(([le, c]) => `| ${p.name} | ${Number.isFinite(le) ? le : "+Inf"} | ${c} |`).join("\n");
  const report = `# Fan-out latency (realtime)

Measured with \`node_modules/.bin/bun bench/fanout.ts --users ${USERS} --group ${GROUP} --rate ${RATE} --direct-rate ${DIRECT_RATE} --seconds ${SECONDS}\`
on ${new Date().toISOString().slice(0, 10)}: one 2-core machine, everything on loopback: throwaway Redis 7 and
${infra.mongoKind} (MongoDB wire protocol, SQLite), one api process, two realtime replicas.

Load: ${USERS} users with one socket each, alternating between the two replicas, in ${groups.length}
conversations of ${GROUP} members; every message goes to every member (the sender too).

- ${phaseLine(rest)}. Sent over REST (\`POST /api/conversations/:id/messages\`).
  Retried sends: ${sendStats.retries} (the api answered 5xx on FerretDB "database is locked"; same clientId), given up: ${sendStats.failed}.
- ${phaseLine(direct)}. Published by the bench itself as \`FanoutEvent\`s on the members'
  user channels, exactly as the api does after a commit: realtime alone, no database in the path.

| phase | measure | p50 | p99 | samples |
|---|---|---|---|---|
${row(rest, "REST (end to end)")}
${row(direct, "direct publish (realtime only)")}

Reading the figures:
- The histogram is realtime's \`now − committedAt\` at the socket write. Quantiles are interpolated
  within the Prometheus buckets (1 ms, 2.5 ms, 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, …), like
  \`histogram_quantile\`: estimates at bucket resolution.
- In the REST phase the api stamps \`committedAt\` right after inserting the message and then
  publishes (its bookkeeping writes follow the publish), so that histogram covers api publish →
  Redis → replica → socket write; the client-observed figure adds the HTTP request and the
  database write (FerretDB on SQLite), which is where its tail comes from.
- The direct phase shows realtime's own share: Redis publish → subscriber → local socket writes.

Bucket counts of each phase (cumulative, both replicas merged):

| phase | le (s) | count |
|---|---|---|
${bucketTable(rest)}
${bucketTable(direct)}
`;
  writeFileSync(values.out!, report);
  console.log(report);
  for (const ws of sockets) ws.close();
} finally {
  await stack.stop();
  await infra.stop();
}
