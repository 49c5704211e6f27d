/**
 * A chat client for the fault test that keeps the browser client's recovery rule
 * (frontend/src/state: socket-client, sync, frames, outbox):
 *  - after every `ready` whose marks say something was missed (contract/marks' MarkBook, fed every
 *    event's mark, as the store does), each conversation catches up over REST from its last
 *    contiguous seq; a `ready` that needs none is counted (`readiesWithoutCatchUp`), so a wrong
 *    "nothing missed" shows as a message lost;
 *  - a live message above the next expected seq (a gap) starts a catch-up too; one catch-up at a
 *    time per conversation, and one more after it when asked meanwhile;
 *  - messages are kept by seq, so one seen twice (live and caught up) is held once;
 *  - sends go one at a time, each with its clientId for every attempt: no answer, 502–504 and
 *    503 wait and try again, 429 waits out Retry-After; anything else is a test failure;
 *  - a closed socket reconnects with backoff (a restart, 1012, comes back quickly), to its own
 *    replica or the other, as a load balancer would send it.
 * It records what it saw: every send's answers, duplicates received on the wire, and what it holds.
 */
import type { Message, MessagesPage } from "@parley/contract";
import type { ServerFrame } from "@parley/contract/frames";
import { PAGE_MAX } from "@parley/contract/limits";
import { MarkBook } from "@parley/contract/marks";
import { OneAtATime } from "../../frontend/src/state/one-at-a-time.ts";

export type SendRecord = { conversationId: string; clientId: string; statuses: number[]; done: boolean };

export class ChatClient {
  /** conversation id → seq → message */
  readonly held = new Map<string, Map<number, Message>>();
  readonly sends: SendRecord[] = [];
  /** the same message received again (live and by catch-up, or twice live): fine on the wire */
  wireDuplicates = 0;
  /** a seq held with one message and then given another: would be a wrong screen */
  conflicts = 0;
  readies = 0;
  /** readies whose marks said nothing was missed: no catch-up asked */
  readiesWithoutCatchUp = 0;
  /** what stopped this client, if something it never expects happened */
  failure: string | null = null;
  private ws: WebSocket | null = null;
  private attempt = 0;
  private running = true;
  private replica: number;
  private readonly catching = new OneAtATime<boolean>();
  private readonly marks = new MarkBook();
  private readonly queue: SendRecord[] = [];
  private sending = false;
  private seq = 0;

  constructor(
    readonly name: string,
    readonly userId: string,
    private readonly token: string,
    private readonly urls: string[],
    home: number,
    conversations: string[],
  ) {
    this.replica = home;
    for (const c of conversations) this.held.set(c, new Map());
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.ws?.close();
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Queues a new message (a fresh clientId, kept for every attempt). */
  send(conversationId: string): void {
    const record: SendRecord = {
      conversationId,
      clientId: `${this.name}-${++this.seq}-${crypto.randomUUID().slice(0, 8)}`,
      statuses: [],
      done: false,
    };
    this.sends.push(record);
    this.queue.push(record);
    void this.pump();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** The highest seq up to which every message is held. */
  contiguous(conversationId: string): number {
    const m = this.held.get(conversationId)!;
    let s = 0;
    while (m.has(s + 1)) s++;
    return s;
  }

  private base(): string {
    return this.urls[this.replica]!;
  }

  private other(): void {
    this.replica = (this.replica + 1) % this.urls.length;
  }

  private connect(): void {
    if (!this.running) return;
    const ws = new WebSocket(`${this.base().replace(/^http/, "ws")}/ws?token=${this.token}`);
    this.ws = ws;
    let ready = false;
    ws.onmessage = (e) => {
      const frame = JSON.parse(String(e.data)) as ServerFrame;
      if ("mark" in frame) this.marks.seen(frame.mark);
      if (frame.type === "ready") {
        ready = true;
        this.attempt = 0;
        this.readies++;
        const token = this.marks.ready(frame.marks, Date.now());
        if (token === null) this.readiesWithoutCatchUp++;
        else
          void Promise.all([...this.held.keys()].map((c) => this.catchUp(c))).then((done) => {
            if (done.every(Boolean)) this.marks.caughtUp(token);
          });
        void this.pump();
      } else if (frame.type === "message") this.onMessage(frame.message);
    };
    ws.onclose = (e) => {
      if (ready) this.marks.down();
      if (this.ws !== ws || !this.running) return;
      this.ws = null;
      // a restart (1012) of a healthy connection comes back at once, elsewhere; anything else backs off
      const restart = e.code === 1012 && ready;
      const delay = restart
        ? Math.random() * 400
        : Math.min(2000, 100 * 2 ** Math.min(this.attempt, 5)) * Math.random();
      this.attempt++;
      if (!ready || restart || e.code === 1006) this.other();
      setTimeout(() => this.connect(), delay);
    };
  }

  private onMessage(m: Message): void {
    const held = this.held.get(m.conversationId);
    if (!held) return;
    const next = this.contiguous(m.conversationId) + 1;
    this.hold(m);
    if (m.seq > next) void this.catchUp(m.conversationId);
  }

  private hold(m: Message): void {
    const held = this.held.get(m.conversationId)!;
    const before = held.get(m.seq);
    if (before) {
      if (before.id === m.id) this.wireDuplicates++;
      else this.conflicts++;
      return;
    }
    held.set(m.seq, m);
  }

  /** One catch-up at a time per conversation (frontend's OneAtATime). Resolves to whether every page was answered. */
  private catchUp(conversationId: string): Promise<boolean> {
    return this.catching.run(conversationId, async () => {
      try {
        for (let i = 0; i < 10_000; i++) {
          const after = this.contiguous(conversationId);
          const page = await this.get<MessagesPage>(
            `/api/conversations/${conversationId}/messages?after=${after}&limit=${PAGE_MAX}`,
          );
          for (const m of page.messages) this.hold(m);
          if (!page.hasMore || page.messages.length === 0) break;
        }
        return true;
      } catch {
        // failed (the database is away, the replica died): the next `ready` or gap asks again
        return false;
      }
    });
  }

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.base()}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => {
      this.other();
      throw err;
    });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  }

  /** Sends what is queued, one at a time and in order, each until the server stored it. */
  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.running && this.queue.length > 0 && !this.failure) {
        const record = this.queue[0]!;
        const wait = await this.attemptSend(record);
        if (record.done) this.queue.shift();
        else await Bun.sleep(wait);
      }
    } catch (err) {
      this.failure = (err as Error).message;
    } finally {
      this.sending = false;
    }
  }

  /** One attempt; returns how long to wait before the next when it did not succeed. */
  private async attemptSend(record: SendRecord): Promise<number> {
    let res: Response;
    try {
      res = await fetch(`${this.base()}/api/conversations/${record.conversationId}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
        body: JSON.stringify({ body: `${record.clientId} says hello`, clientId: record.clientId }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch {
      record.statuses.push(0);
      this.other();
      return 200 + Math.random() * 300;
    }
    record.statuses.push(res.status);
    if (res.status === 201 || res.status === 200) {
      record.done = true;
      const { message } = (await res.json()) as { message: Message };
      // the sender holds its own message once the server stored it (the browser confirms it so)
      this.onMessage(message);
      return 0;
    }
    await res.body?.cancel();
    if (res.status === 429) return Number(res.headers.get("retry-after") ?? 1) * 1000;
    if (res.status >= 502 && res.status <= 504) return 200 + Math.random() * 300;
    throw new Error(`${this.name}: a send was refused with ${res.status}, which the fault test never expects`);
  }
}
