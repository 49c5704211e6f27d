/**
 * The people of a reconnect storm, shared by bench/reconnect-storm.ts and
 * realtime/test/reconnect-storm.test.ts:
 *  - storm users: in conversations of 10 (9 of them and one "other" user), one socket each, on
 *    the replica that is going to be killed;
 *  - other users: on the surviving replica, sending messages over REST at a fixed rate (open
 *    loop: a request every 1/rate s whatever the answers do), some into the storm users'
 *    conversations (so there is something to catch up on), and reading a page of history;
 *  - the ledger: every message the api answered 201 for, and when.
 * Everyone is written straight into the database (bench/lib/seed.ts: bulk inserts in the api's
 * own document shapes, session tokens signed as the api signs them).
 */
import type { Message, MessagesPage } from "@parley/contract";
import type mongoose from "mongoose";
import { percentile } from "./procs.ts";
import { type SeededUser, seedConversations, seedUsers, tokenSigner } from "./seed.ts";
import type { Ledger } from "./storm-client.ts";

export type StormUser = SeededUser & { token: string; conversationId: string };
export type OtherUser = SeededUser & { token: string; conversations: string[] };
export type StormPeople = {
  storm: StormUser[];
  others: OtherUser[];
  /** conversations with storm users in them, and the other user who is their tenth member */
  stormConversations: { id: string; other: number }[];
  /** conversations of other users only */
  otherConversations: { id: string; members: number[] }[];
  /** users in conversations of 10 among themselves, with no socket (for the sockets-ready timing) */
  spare: StormUser[];
};

/** Seeds `storm` + `others` + `spare` users and their conversations in one go. */
export async function seedStormPeople(
  db: mongoose.mongo.Db,
  secret: string,
  counts: { storm: number; others: number; spare?: number },
): Promise<StormPeople> {
  const spareCount = counts.spare ?? 0;
  // one call: usernames are numbered, and a second call would number them again
  const users = await seedUsers(db, counts.storm + counts.others + spareCount);
  const sign = await tokenSigner(secret);
  const stormIdx = Array.from({ length: counts.storm }, (_, i) => i);
  const otherIdx = Array.from({ length: counts.others }, (_, i) => counts.storm + i);
  const spareIdx = Array.from({ length: spareCount }, (_, i) => counts.storm + counts.others + i);
  const groups = (idx: number[], size: number) =>
    Array.from({ length: Math.ceil(idx.length / size) }, (_, k) => idx.slice(k * size, (k + 1) * size));

  const stormLists = groups(stormIdx, 9).map((g, k) => [...g, otherIdx[k % otherIdx.length]!]);
  const otherLists = groups(otherIdx, 10).filter((g) => g.length >= 2);
  const spareLists = groups(spareIdx, 10);
  const convs = await seedConversations(db, users, [...stormLists, ...otherLists, ...spareLists]);
  const stormConvs = convs.slice(0, stormLists.length);
  const otherConvs = convs.slice(stormLists.length, stormLists.length + otherLists.length);
  const spareConvs = convs.slice(stormLists.length + otherLists.length);

  const withToken = async (i: number) => ({ ...users[i]!, token: await sign(users[i]!) });
  const storm = await Promise.all(
    stormIdx.map(async (i) => ({ ...(await withToken(i)), conversationId: stormConvs[Math.floor(i / 9)]!.id })),
  );
  const spare = await Promise.all(
    spareIdx.map(async (i, k) => ({ ...(await withToken(i)), conversationId: spareConvs[Math.floor(k / 10)]!.id })),
  );
  const others: OtherUser[] = await Promise.all(
    otherIdx.map(async (i) => ({ ...(await withToken(i)), conversations: [] })),
  );
  const stormConversations = stormConvs.map((c, k) => ({ id: c.id, other: k % others.length }));
  for (const c of stormConversations) others[c.other]!.conversations.push(c.id);
  const otherConversations = otherConvs.map((c, k) => ({
    id: c.id,
    members: otherLists[k]!.map((i) => i - counts.storm),
  }));
  for (const c of otherConversations) for (const m of c.members) others[m]!.conversations.push(c.id);
  return { storm, others, stormConversations, otherConversations, spare };
}

/** Every message the api answered 201 for, by conversation, with the time of the answer. */
export class SendLedger implements Ledger {
  private readonly byConversation = new Map<string, { seq: number; id: string; answeredAt: number }[]>();
  add(m: Pick<Message, "conversationId" | "seq" | "id">, answeredAt: number): void {
    const list = this.byConversation.get(m.conversationId) ?? [];
    list.push({ seq: m.seq, id: m.id, answeredAt });
    this.byConversation.set(m.conversationId, list);
  }
  committedBefore(conversationId: string, t: number) {
    return (this.byConversation.get(conversationId) ?? []).filter((m) => m.answeredAt < t);
  }
  all(conversationId: string) {
    return this.byConversation.get(conversationId) ?? [];
  }
  lastSeq(conversationId: string): number {
    return Math.max(0, ...(this.byConversation.get(conversationId) ?? []).map((m) => m.seq));
  }
  get size(): number {
    let n = 0;
    for (const l of this.byConversation.values()) n += l.length;
    return n;
  }
}

/** One REST request of another user: when it started, how long it took, what it answered (0: no answer). */
export type Sample = { kind: "send" | "read"; path: "web" | "direct"; at: number; ms: number; status: number };

export type LoadOptions = {
  /** the surviving replica (its `/api` proxy, as a browser's requests go) */
  web: string;
  /** the api itself (what an Ingress routing `/api` straight to the api would reach) */
  api: string;
  /** the first `direct` other users call the api directly, the rest through the replica */
  direct: number;
  sendRate: number;
  readRate: number;
  /** the share of sends that go into the storm users' conversations */
  stormShare: number;
};

/** The other users' open-loop load: sends and history reads, every answer recorded. */
export class OtherUsersLoad {
  readonly samples: Sample[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private nextStorm = 0;
  private clientSeq = 0;

  constructor(
    private readonly people: StormPeople,
    private readonly ledger: SendLedger,
    private readonly opts: LoadOptions,
  ) {}

  start(): void {
    const t0 = performance.now();
    let sends = 0;
    let reads = 0;
    this.timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      while (sends < Math.floor(elapsed * this.opts.sendRate)) {
        sends++;
        this.track(this.send());
      }
      while (reads < Math.floor(elapsed * this.opts.readRate)) {
        reads++;
        this.track(this.read());
      }
    }, 10);
  }

  /** Stops issuing requests and waits for those in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private base(userIndex: number): { url: string; path: "web" | "direct" } {
    return userIndex < this.opts.direct ? { url: this.opts.api, path: "direct" } : { url: this.opts.web, path: "web" };
  }

  private async request(
    kind: Sample["kind"],
    userIndex: number,
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: string } | null> {
    const user = this.people.others[userIndex]!;
    const { url, path: via } = this.base(userIndex);
    const at = performance.now();
    try {
      const res = await fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        signal: AbortSignal.timeout(30_000),
      });
      const body = await res.text();
      this.samples.push({ kind, path: via, at, ms: performance.now() - at, status: res.status });
      return { status: res.status, body };
    } catch {
      this.samples.push({ kind, path: via, at, ms: performance.now() - at, status: 0 });
      return null;
    }
  }

  private async send(): Promise<void> {
    const { stormConversations, otherConversations } = this.people;
    let conversationId: string;
    let sender: number;
    if (otherConversations.length === 0 || Math.random() < this.opts.stormShare) {
      // round robin, so every storm conversation gets its share
      const c = stormConversations[this.nextStorm++ % stormConversations.length]!;
      conversationId = c.id;
      sender = c.other;
    } else {
      const c = otherConversations[Math.floor(Math.random() * otherConversations.length)]!;
      conversationId = c.id;
      sender = c.members[Math.floor(Math.random() * c.members.length)]!;
    }
    const clientId = `storm_${process.pid}_${++this.clientSeq}`;
    const res = await this.request("send", sender, `/api/conversations/${conversationId}/messages`, {
      method: "POST",
      body: JSON.stringify({ body: `message ${this.clientSeq} while a replica goes away`, clientId }),
    });
    if (res?.status === 201 || res?.status === 200) {
      const { message } = JSON.parse(res.body) as { message: Message };
      this.ledger.add(message, performance.now());
    }
  }

  /** The newest page of one of the reader's conversations (what opening it asks). */
  private async read(): Promise<void> {
    const reader = Math.floor(Math.random() * this.people.others.length);
    const convs = this.people.others[reader]!.conversations;
    const id = convs[Math.floor(Math.random() * convs.length)]!;
    const res = await this.request(
      "read",
      reader,
      `/api/conversations/${id}/messages?before=${this.ledger.lastSeq(id) + 1}&limit=50`,
    );
    if (res?.status === 200) JSON.parse(res.body) as MessagesPage;
  }
}

/** p50 / p99 / max (ms) and counts of samples in [from, to). */
export function summarize(samples: readonly Sample[], from: number, to: number) {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const ms = inWindow.map((s) => s.ms).sort((a, b) => a - b);
  const failed = inWindow.filter((s) => s.status !== 200 && s.status !== 201);
  const statuses: Record<string, number> = {};
  for (const s of failed) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return {
    count: inWindow.length,
    failed: failed.length,
    statuses,
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    max: ms.at(-1) ?? Number.NaN,
  };
}
