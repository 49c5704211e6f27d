/**
 * The client's state and the small mutations every part of the store shares: what components
 * render (session, conversations, threads, live signals, the connection) and one `change`
 * event per microtask. The parts that act on it (session.ts, sync.ts, frames.ts, outbox.ts)
 * take it as their host, so none of them imports the store and the store imports them all.
 */
import type { Conversation, Id, Message, User } from "@parley/contract";
import { applyMessage, upsertConversation } from "./conversations.ts";
import { LiveSignals } from "./live.ts";
import { savePending } from "./saved-pending.ts";
import type { SendPause } from "./outbox.ts";
import type { ConnectionStatus } from "./socket-client.ts";
import { emptyThread, type Thread } from "./thread.ts";

export type Session =
  | { status: "loading" }
  | { status: "signed-out"; reason?: string }
  | { status: "signed-in"; user: User };

export class StoreState extends EventTarget {
  session: Session = { status: "loading" };
  conversations: Conversation[] = [];
  conversationsLoaded = false;
  /** where the next page of the list starts (null: every page is here) and how many pages are */
  conversationsCursor: string | null = null;
  conversationPages = 0;
  threads = new Map<Id, Thread>();
  /** presence, typing, others' read positions */
  readonly live = new LiveSignals(() => this.changed());
  connection: ConnectionStatus = "offline";
  activeId: Id | null = null;
  /** unsent messages are waiting (send limit, no connection) and until when */
  sendPause: SendPause = null;
  /** the last line for screen readers (aria-live region) */
  announcement = "";

  private queued = false;

  get me(): User | undefined {
    return this.session.status === "signed-in" ? this.session.user : undefined;
  }

  /** Tells every connected component to re-render, once per microtask. */
  changed(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.dispatchEvent(new Event("change"));
    });
  }

  conversation(id: Id | null): Conversation | undefined {
    return id ? this.conversations.find((c) => c.id === id) : undefined;
  }

  /** Inserts or replaces one conversation, keeping the list ordered. */
  putConversation(c: Conversation): void {
    this.conversations = upsertConversation(this.conversations, c);
    this.changed();
  }

  thread(id: Id): Thread {
    return this.threads.get(id) ?? emptyThread();
  }

  setThread(id: Id, t: Thread): void {
    const before = this.threads.get(id);
    if (before === t) return;
    this.threads.set(id, t);
    // unconfirmed messages outlive the tab (saved-pending.ts)
    if (before?.pending !== t.pending && this.me)
      savePending(
        this.me.id,
        [...this.threads.values()].flatMap((x) => x.pending),
      );
    this.changed();
  }

  /** A confirmed message updates its conversation's preview, lastSeq and unread count. */
  noteMessage(m: Message, mine: boolean): void {
    const me = this.me?.id;
    if (!me) return;
    const seen = mine || (this.activeId === m.conversationId && document.visibilityState === "visible");
    const before = this.conversation(m.conversationId);
    if (!before) return;
    const after = applyMessage(before, m, me, seen);
    if (after !== before) this.putConversation(after);
  }

  /** Everything that belongs to one signed-in user, dropped on sign-out. */
  clearUserData(): void {
    this.conversations = [];
    this.conversationsLoaded = false;
    this.conversationsCursor = null;
    this.conversationPages = 0;
    this.threads.clear();
    this.live.clear();
    this.activeId = null;
    this.changed();
  }
}
