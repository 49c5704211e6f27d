/**
 * Messages the user sent and the server has not confirmed. Each keeps its clientId for every
 * attempt, so the api stores it once however often it goes out. Offline or without a replica
 * it stays pending and goes again when the socket is back, the browser is online again, or a
 * backoff timer fires; a refusal (422, 413, 429…) makes it failed, with a Retry button.
 */
import type { Id, Message } from "@parley/contract";
import { api, ApiError } from "./api-client.ts";
import { backoffDelay } from "./backoff.ts";
import { addPending, confirmMessage, failPending, newClientId, retryPending, type Thread } from "./thread.ts";

export type OutboxHost = {
  thread(id: Id): Thread;
  setThread(id: Id, t: Thread): void;
  threads(): Iterable<[Id, Thread]>;
  /** the server stored it: update the conversation summary */
  sent(m: Message): void;
  failed(e: unknown): void;
};

export class Outbox {
  private inFlight = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private transientFailures = 0;

  constructor(private readonly host: OutboxHost) {}

  send(id: Id, senderId: Id, body: string): void {
    const text = body.trim();
    if (!text) return;
    const clientId = newClientId();
    const local = {
      clientId,
      conversationId: id,
      senderId,
      body: text,
      createdAt: new Date().toISOString(),
      status: "pending" as const,
      attempts: 1,
    };
    this.host.setThread(id, addPending(this.host.thread(id), local));
    void this.attempt(id, clientId);
  }

  retry(id: Id, clientId: string): void {
    this.host.setThread(id, retryPending(this.host.thread(id), clientId));
    void this.attempt(id, clientId);
  }

  /** Sends again every message still pending (not failed). */
  retryWaiting = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const [id, t] of this.host.threads())
      for (const p of t.pending) if (p.status === "pending") void this.attempt(id, p.clientId);
  };

  stop(): void {
    clearTimeout(this.timer);
  }

  private async attempt(id: Id, clientId: string): Promise<void> {
    const local = this.host.thread(id).pending.find((p) => p.clientId === clientId);
    if (!local || this.inFlight.has(clientId)) return;
    this.inFlight.add(clientId);
    try {
      const m = await api.send(id, local.body, clientId);
      this.transientFailures = 0;
      this.host.setThread(id, confirmMessage(this.host.thread(id), m));
      this.host.sent(m);
    } catch (e) {
      if (e instanceof ApiError && e.transient) {
        this.later();
        return;
      }
      this.host.setThread(
        id,
        failPending(this.host.thread(id), clientId, e instanceof ApiError ? e.message : "Could not send."),
      );
      this.host.failed(e);
    } finally {
      this.inFlight.delete(clientId);
    }
  }

  /** One timer for all waiting messages, backing off while the server stays away. */
  private later() {
    if (this.timer) return;
    this.timer = setTimeout(this.retryWaiting, 1000 + backoffDelay(this.transientFailures++));
  }
}
