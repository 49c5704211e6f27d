/**
 * Messages the user sent and the server has not confirmed, sent one conversation queue at a
 * time so they are stored — and numbered — in the order they were typed.
 *
 * The rule (docs/architecture.md, "Sending"): within a conversation one message is in flight
 * at a time and the next goes only once the server has answered for it.
 * - Waits that end by themselves pause every queue and keep the order: no answer / 502-504
 *   (no connection) until the socket is back, the browser is online or a backoff timer fires;
 *   429 (the sender's send limit) until its Retry-After has passed. Nothing is refused.
 * - A refusal that would only repeat (422, 413, 404…) marks that message failed, and the
 *   messages typed after it in the same conversation are held behind it until the user
 *   retries it (same clientId: the server stores it at most once) or discards it.
 */
import type { Id, Message } from "@parley/contract";
import { api, ApiError } from "./api-client.ts";
import { backoffDelay } from "./backoff.ts";
import { sendFailure } from "./explain.ts";
import {
  addPending,
  confirmMessage,
  discardPending,
  failPending,
  newClientId,
  retryPending,
  type Thread,
} from "./thread.ts";

/** Why every queue is waiting, and until when (ms since the epoch). */
export type SendPause = { reason: "rate" | "connection"; until: number } | null;

/** How long to wait after a 429 that names no Retry-After. */
const RATE_WAIT_DEFAULT_S = 5;

export type OutboxHost = {
  thread(id: Id): Thread;
  setThread(id: Id, t: Thread): void;
  threads(): Iterable<[Id, Thread]>;
  /** the server stored it: update the conversation summary */
  sent(m: Message): void;
  /** a send was refused (a 401 ends the session) */
  failed(e: unknown): void;
  /** the queues paused or went on: the page shows that messages wait */
  paused(p: SendPause): void;
};

export type OutboxDeps = {
  send(id: Id, body: string, clientId: string, replyTo?: number): Promise<Message>;
  now(): number;
};

export class Outbox {
  /** conversations with a send in flight */
  private sending = new Set<Id>();
  private pause: SendPause = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private transientFailures = 0;

  constructor(
    private readonly host: OutboxHost,
    private readonly deps: OutboxDeps = { send: api.send, now: Date.now },
  ) {}

  send(id: Id, senderId: Id, body: string, replyTo?: number): void {
    const text = body.trim();
    if (!text) return;
    const local = {
      clientId: newClientId(),
      conversationId: id,
      senderId,
      body: text,
      createdAt: new Date(this.deps.now()).toISOString(),
      status: "pending" as const,
      attempts: 1,
      ...(replyTo === undefined ? {} : { replyTo }),
    };
    this.host.setThread(id, addPending(this.host.thread(id), local));
    void this.next(id);
  }

  /** A failed message goes again (it is the head of its queue: the ones behind it follow). */
  retry(id: Id, clientId: string): void {
    this.host.setThread(id, retryPending(this.host.thread(id), clientId));
    void this.next(id);
  }

  /** A failed message is dropped; the ones held behind it go. */
  discard(id: Id, clientId: string): void {
    this.host.setThread(id, discardPending(this.host.thread(id), clientId));
    void this.next(id);
  }

  /**
   * Sends what waits: after a reconnect, the `online` event, or when a pause ends. A send-limit
   * pause holds until its time whatever calls this: going earlier would only be refused again.
   */
  resume = (): void => {
    if (this.pause?.reason === "rate" && this.deps.now() < this.pause.until) return;
    this.endPause();
  };

  private endPause = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.setPause(null);
    for (const [id, t] of this.host.threads()) if (t.pending.length) void this.next(id);
  };

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.setPause(null);
  }

  /** Sends the head of one conversation's queue, then the next, until it is empty, paused or held. */
  private async next(id: Id): Promise<void> {
    if (this.sending.has(id) || this.pause) return;
    const head = this.host.thread(id).pending[0];
    // a failed head holds the messages typed after it
    if (!head || head.status === "failed") return;
    this.sending.add(id);
    let goOn = false;
    try {
      const m = await this.deps.send(id, head.body, head.clientId, head.replyTo);
      this.transientFailures = 0;
      this.host.setThread(id, confirmMessage(this.host.thread(id), m));
      this.host.sent(m);
      goOn = true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 429) this.wait("rate", (e.retryAfter ?? RATE_WAIT_DEFAULT_S) * 1000);
      else if (e instanceof ApiError && e.transient)
        this.wait("connection", 1000 + backoffDelay(this.transientFailures++));
      else {
        this.host.setThread(id, failPending(this.host.thread(id), head.clientId, sendFailure(e)));
        this.host.failed(e);
      }
    } finally {
      this.sending.delete(id);
    }
    if (goOn) await this.next(id);
  }

  /** Pauses every queue for `ms`, unless a pause that ends later is already on. */
  private wait(reason: "rate" | "connection", ms: number) {
    const until = this.deps.now() + ms;
    if (this.pause && this.pause.until >= until) return;
    clearTimeout(this.timer);
    this.setPause({ reason, until });
    this.timer = setTimeout(this.endPause, ms);
  }

  private setPause(p: SendPause) {
    if (p === this.pause) return;
    this.pause = p;
    this.host.paused(p);
  }
}
