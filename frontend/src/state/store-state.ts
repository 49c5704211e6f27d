/**
 * The client's state and the small mutations every part of the store shares: what components
 * render (session, conversations, threads, live signals, the connection) and one `change`
 * event per microtask. The parts that act on it (session.ts, sync.ts, frames.ts, outbox.ts)
 * take it as their host, so none of them imports the store and the store imports them all.
 */
import type { Conversation, Id, Message, User } from "@parley/contract";
import { applyChanged, applyMessage, upsertConversation } from "./conversations.ts";
import { LiveSignals } from "./live.ts";
import { type Permission, permission } from "./notify.ts";
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
  /** messages quoted by replies whose thread has not loaded them (`${conversationId}:${seq}`) */
  quotes = new Map<string, Message>();
  /** presence, typing, others' read positions */
  readonly live = new LiveSignals(() => this.changed());
  connection: ConnectionStatus = "offline";
  activeId: Id | null = null;
  /** unsent messages are waiting (send limit, no connection) and until when */
  sendPause: SendPause = null;
  /** the last line for screen readers (aria-live region) */
  announcement = "";
  /** an action on a conversation failed (an edit, a reaction…): said above its composer until the next one */
  notice: { conversationId: Id; text: string } | null = null;
  /** the browser's notification permission, as this page last learned it */
  notifications: Permission = permission();

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

  /**
   * A confirmed message updates its conversation's preview, lastSeq and unread count; a system
   * line its name and members — and one that leaves the user out closes the conversation here.
   */
  noteMessage(m: Message, mine: boolean): void {
    const me = this.me?.id;
    if (!me) return;
    const seen = mine || (this.activeId === m.conversationId && document.visibilityState === "visible");
    const before = this.conversation(m.conversationId);
    if (!before) return;
    const after = applyMessage(before, m, me, seen);
    if (after.kind === "group" && !after.members.some((u) => u.id === me)) this.forget(after.id);
    else if (after !== before) this.putConversation(after);
  }

  /** A newer version of a message: the preview follows when it is the last one, and so does a quote of it. */
  noteChanged(m: Message): void {
    const key = `${m.conversationId}:${m.seq}`;
    const quoted = this.quotes.get(key);
    if (quoted && quoted.version < m.version) {
      this.quotes.set(key, m);
      this.changed();
    }
    const before = this.conversation(m.conversationId);
    const after = before && applyChanged(before, m);
    if (after && after !== before) this.putConversation(after);
  }

  /** The user is no longer in a conversation (they left): it leaves the list, its thread and the view. */
  forget(id: Id): void {
    this.conversations = this.conversations.filter((c) => c.id !== id);
    this.threads.delete(id);
    if (this.activeId === id) this.activeId = null;
    this.changed();
  }

  /** Everything that belongs to one signed-in user, dropped on sign-out. */
  clearUserData(): void {
    this.conversations = [];
    this.conversationsLoaded = false;
    this.conversationsCursor = null;
    this.conversationPages = 0;
    this.threads.clear();
    this.quotes.clear();
    this.live.clear();
    this.activeId = null;
    this.changed();
  }
}
