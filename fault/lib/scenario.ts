/**
 * The fault scenario: clients on both realtime replicas exchange a steady stream in several
 * conversations while the faults come one after another — a replica SIGKILLed and started again,
 * the api's Redis connections killed, Redis restarted (empty), the database stopped for a few
 * seconds — then a quiet tail. Afterwards every client must hold every committed message
 * exactly once and in seq order, every send must have been stored exactly once (sends during the
 * database outage get 503 and succeed on retry with the same clientId), and nothing else.
 */
import type { AuthResponse, ConversationResponse, MessagesPage } from "@parley/contract";
import { waitFor } from "../../scripts/lib/ports.ts";
import { ChatClient } from "./client.ts";
import type { World } from "./world.ts";

export type ScenarioOptions = {
  clients: number;
  /** messages per second, all clients together */
  rate: number;
  /** how many times the whole sequence of faults is played */
  cycles: number;
  /** seconds between faults, and of the database outage */
  gapSeconds: number;
  outageSeconds: number;
  /** seconds of stream without faults before the end */
  tailSeconds: number;
  log?: (line: string) => void;
};

export type Report = {
  seconds: number;
  clients: number;
  conversations: number;
  rate: number;
  cycles: number;
  committed: number;
  sends: number;
  /** sends answered 503 at least once (by the api or its proxy), all later stored */
  sendsThat503: number;
  /** sends that got no answer at least once (a replica gone), all later stored */
  sendsUnanswered: number;
  retries: number;
  /** committed messages some client did not hold at the end (member × message) */
  lost: number;
  /** messages stored twice for one send, plus seqs a client held with two different messages */
  duplicated: number;
  /** the same message received again on the wire (harmless: held once) */
  wireDuplicates: number;
  readies: number;
  /** readies whose marks said nothing was missed (no catch-up asked) */
  readiesWithoutCatchUp: number;
  faults: string[];
  failures: string[];
};

export async function runScenario(world: World, o: ScenarioOptions): Promise<Report> {
  const log = o.log ?? (() => undefined);
  const urls = world.stack.realtimeUrls;
  const started = Date.now();
  const faults: string[] = [];
  const fault = async (what: string, act: () => Promise<unknown>) => {
    const t = ((Date.now() - started) / 1000).toFixed(1);
    log(`[fault] ${t} s: ${what}`);
    faults.push(`${t} s ${what}`);
    await act();
  };

  // people and conversations: one group of everyone, and pairs around the circle
  const post = async <T>(path: string, body: unknown, token?: string): Promise<T> => {
    const res = await fetch(`${world.stack.apiUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const run = Date.now().toString(36).slice(-5);
  const people: AuthResponse[] = [];
  for (let i = 0; i < o.clients; i++)
    people.push(await post("/api/auth/register", { username: `fault_${run}_${i}`, password: "fault-password-1" }));
  const convs: { id: string; members: number[] }[] = [];
  const everyone = await post<ConversationResponse>(
    "/api/conversations",
    { memberIds: people.slice(1).map((p) => p.user.id), title: "everyone" },
    people[0]!.token,
  );
  convs.push({ id: everyone.conversation.id, members: people.map((_, i) => i) });
  for (let i = 0; i < o.clients; i += 2) {
    const j = (i + 1) % o.clients;
    const pair = await post<ConversationResponse>(
      "/api/conversations",
      { memberIds: [people[j]!.user.id] },
      people[i]!.token,
    );
    convs.push({ id: pair.conversation.id, members: [i, j] });
  }
  const clients = people.map(
    (p, i) =>
      new ChatClient(
        `c${i}`,
        p.user.id,
        p.token,
        urls,
        i % urls.length,
        convs.filter((c) => c.members.includes(i)).map((c) => c.id),
      ),
  );
  for (const c of clients) c.start();
  await waitFor("every client connected", () => clients.every((c) => c.connected), 30_000);
  log(`[fault] ${o.clients} clients on ${urls.length} replicas, ${convs.length} conversations, ${o.rate} msg/s`);

  // the stream: each tick one client sends to one of its conversations
  let streaming = true;
  const stream = (async () => {
    let n = 0;
    while (streaming) {
      const c = clients[n % clients.length]!;
      const mine = [...c.held.keys()];
      c.send(mine[Math.floor(Math.random() * mine.length)]!);
      n++;
      await Bun.sleep(1000 / o.rate);
    }
  })();
  const pause = (s: number) => Bun.sleep(s * 1000);

  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      await pause(o.gapSeconds);
      const replica = cycle % urls.length;
      await fault(`SIGKILL realtime-${replica + 1}`, () => world.killReplica(replica));
      await pause(o.gapSeconds);
      await fault(`start realtime-${replica + 1}`, () => world.startReplica(replica));
      await pause(o.gapSeconds);
      await fault("kill the api's Redis connections", async () => {
        const n = await world.killApiRedisConnections();
        if (n === 0) throw new Error("no api connection to kill");
      });
      await pause(o.gapSeconds);
      await fault("restart Redis", () => world.restartRedis());
      await pause(o.gapSeconds);
      await fault(`stop the database for ${o.outageSeconds} s`, () => world.stopDatabase());
      await pause(o.outageSeconds);
      await fault("start the database", () => world.startDatabase());
    }
    await pause(o.tailSeconds);
  } finally {
    streaming = false;
    await stream;
  }
  log("[fault] stream stopped; waiting for every send to be stored and every client to catch up");

  await waitFor("every send stored", () => clients.every((c) => c.pending === 0 || c.failure !== null), 120_000);
  // the truth: what the database holds, read through the api
  const committed = new Map<string, string[]>();
  for (const c of convs) {
    const token = people[c.members[0]!]!.token;
    const ids: string[] = [];
    for (let after = 0; ; ) {
      const res = await fetch(`${world.stack.apiUrl}/api/conversations/${c.id}/messages?after=${after}&limit=100`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const page = (await res.json()) as MessagesPage;
      page.messages.forEach((m, k) => {
        if (m.seq !== after + k + 1) throw new Error(`conversation ${c.id}: seq ${m.seq} after ${after + k}`);
        ids.push(m.clientId);
      });
      after += page.messages.length;
      if (!page.hasMore || page.messages.length === 0) break;
    }
    committed.set(c.id, ids);
  }
  const holdsAll = (cl: ChatClient) =>
    [...cl.held.keys()].every((id) => cl.contiguous(id) === committed.get(id)!.length);
  // the clients catch up the way the browser does; the stream's tail gave every gap a trigger
  await waitFor("every client holding every committed message", () => clients.every(holdsAll), 60_000).catch(
    () => undefined,
  );

  let lost = 0;
  let duplicated = 0;
  const failures: string[] = [];
  for (const [id, clientIds] of committed) {
    duplicated += clientIds.length - new Set(clientIds).size;
    const members = convs.find((c) => c.id === id)!.members;
    for (const i of members) {
      const held = clients[i]!.held.get(id)!;
      for (let seq = 1; seq <= clientIds.length; seq++) {
        const m = held.get(seq);
        if (!m) lost++;
        else if (m.clientId !== clientIds[seq - 1]) duplicated++;
      }
      if (held.size > clientIds.length) failures.push(`c${i} holds messages above the last committed seq in ${id}`);
    }
  }
  const sends = clients.flatMap((c) => c.sends);
  const stored = new Set([...committed.values()].flat());
  for (const s of sends) {
    if (!s.done) failures.push(`a send (${s.clientId}) was never stored: ${s.statuses.join(",")}`);
    else if (!stored.has(s.clientId))
      failures.push(`a send (${s.clientId}) answered ${s.statuses.at(-1)} is not stored`);
  }
  if (stored.size !== sends.length) failures.push(`${stored.size} messages stored for ${sends.length} sends`);
  for (const c of clients) if (c.failure) failures.push(c.failure);
  duplicated += clients.reduce((n, c) => n + c.conflicts, 0);
  for (const c of clients) c.stop();

  return {
    seconds: Math.round((Date.now() - started) / 1000),
    clients: o.clients,
    conversations: convs.length,
    rate: o.rate,
    cycles: o.cycles,
    committed: stored.size,
    sends: sends.length,
    sendsThat503: sends.filter((s) => s.statuses.includes(503)).length,
    sendsUnanswered: sends.filter((s) => s.statuses.includes(0)).length,
    retries: sends.reduce((n, s) => n + Math.max(0, s.statuses.length - 1), 0),
    lost,
    duplicated,
    wireDuplicates: clients.reduce((n, c) => n + c.wireDuplicates, 0),
    readies: clients.reduce((n, c) => n + c.readies, 0),
    readiesWithoutCatchUp: clients.reduce((n, c) => n + c.readiesWithoutCatchUp, 0),
    faults,
    failures,
  };
}
