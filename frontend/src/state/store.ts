/**
 * The one client store: the state of store-state.ts plus the actions components call. The
 * work is done by the parts beside it: session.ts (sign in/out and the socket), sync.ts (the
 * list, pages, catch-up), frames.ts (what the socket says) and outbox.ts (sending); derived
 * values are the selectors of selectors.ts. Components reach it through `StoreController`.
 */
import type { Conversation, Credentials, Id, UserSummary } from "@parley/contract";
import { TYPING_INTERVAL_MS } from "@parley/contract/limits";
import { api } from "./api-client.ts";
import { Changes } from "./changes.ts";
import { applyRead } from "./conversations.ts";
import { FrameHandler } from "./frames.ts";
import { askPermission } from "./notify.ts";
import { Outbox } from "./outbox.ts";
import { ReadMarks } from "./read-marks.ts";
import { Reconciler } from "./reconcile.ts";
import { loadPending } from "./saved-pending.ts";
import { SessionKeeper } from "./session.ts";
import { StoreState } from "./store-state.ts";
import { Sync } from "./sync.ts";
import { addPending } from "./thread.ts";

export type { Session } from "./store-state.ts";

export class Store extends StoreState {
  private readonly outbox: Outbox = new Outbox({
    thread: (id) => this.thread(id),
    setThread: (id, t) => this.setThread(id, t),
    threads: () => this.threads,
    sent: (m) => this.noteMessage(m, true),
    failed: (e) => this.sessions.failed(e),
    paused: (p) => {
      this.sendPause = p;
      this.changed();
    },
  });
  private readonly sessions: SessionKeeper = new SessionKeeper(this, {
    onFrame: (f) => this.frames.onFrame(f),
    onStatus: (s) => this.frames.onStatus(s),
    started: (user) => {
      this.frames.reset();
      // messages still unconfirmed when the last tab closed go out again once the socket is ready
      for (const p of loadPending(user.id))
        this.setThread(p.conversationId, addPending(this.thread(p.conversationId), { ...p, status: "pending" }));
      addEventListener("online", this.outbox.resume);
      void this.sync.loadConversations();
      this.reconciler.start();
    },
    ended: () => {
      this.frames.reset();
      removeEventListener("online", this.outbox.resume);
      this.outbox.stop();
      this.reconciler.stop();
      this.reads.stop();
    },
  });
  private readonly sync = new Sync(this, (e) => this.sessions.failed(e));
  private readonly frames = new FrameHandler(
    this,
    this.sync,
    () => this.outbox.resume(),
    (id) => {
      location.hash = `#/c/${id}`;
    },
  );
  private readonly changes = new Changes(this, (e) => this.sessions.failed(e));
  private readonly reconciler = new Reconciler(
    () => this.sync.reconcile(),
    () => this.connection === "online",
  );
  private readonly reads = new ReadMarks((id, seq) => api.read(id, seq));
  private lastTypingSent = new Map<Id, number>();

  // ---------- session ----------
  init(): Promise<void> {
    return this.sessions.init();
  }
  register(c: Credentials): Promise<void> {
    return this.sessions.register(c);
  }
  login(c: Credentials): Promise<void> {
    return this.sessions.login(c);
  }
  logout(): Promise<void> {
    return this.sessions.logout();
  }
  /** Signs out every session of the user, on every device. */
  logoutEverywhere(): Promise<void> {
    return this.sessions.logout({ everywhere: true });
  }

  // ---------- conversations ----------
  /** Resolves to whether the list was answered. */
  loadConversations(): Promise<boolean> {
    return this.sync.loadConversations();
  }
  loadMoreConversations(): Promise<void> {
    return this.sync.loadMoreConversations();
  }

  async createConversation(memberIds: Id[], title?: string): Promise<Conversation> {
    const c = await api.createConversation({ memberIds, ...(title ? { title } : {}) });
    this.putConversation(c);
    return c;
  }

  /** People whose username starts with `q`, without the user themself. */
  async searchUsers(q: string, limit = 20): Promise<UserSummary[]> {
    const me = this.me?.id;
    return (await api.users(q, limit)).filter((u) => u.id !== me);
  }

  // ---------- threads ----------
  open(id: Id | null): void {
    this.activeId = id;
    this.changed();
    if (id && !this.thread(id).loaded) void this.sync.loadLatest(id);
  }
  loadLatest(id: Id): Promise<void> {
    return this.sync.loadLatest(id);
  }
  loadOlder(id: Id): Promise<void> {
    return this.sync.loadOlder(id);
  }
  /** Resolves to whether every page was answered. */
  catchUp(id: Id): Promise<boolean> {
    return this.sync.catchUp(id);
  }
  /** A reply quotes a message its thread has not loaded: fetch that one message. */
  fetchQuote(id: Id, seq: number): void {
    void this.sync.fetchQuote(id, seq);
  }
  /** Loads older history until the message `seq` is shown (a reply's quote was clicked). */
  loadUntil(id: Id, seq: number): Promise<void> {
    return this.sync.loadUntil(id, seq);
  }

  // ---------- sending ----------
  send(id: Id, body: string, replyTo?: number): void {
    if (this.me) this.outbox.send(id, this.me.id, body, replyTo);
  }

  retry(id: Id, clientId: string): void {
    this.outbox.retry(id, clientId);
  }

  discard(id: Id, clientId: string): void {
    this.outbox.discard(id, clientId);
  }

  // ---------- reading, typing ----------
  markRead(id: Id, seq: number): void {
    const c = this.conversation(id);
    if (!c || seq <= c.readSeq) return;
    this.conversations = this.conversations.map((x) => (x.id === id ? applyRead(x, seq) : x));
    this.changed();
    this.reads.mark(id, seq);
  }

  // ---------- changes: messages, reactions, groups, settings ----------
  edit(id: Id, seq: number, body: string): Promise<boolean> {
    return this.changes.edit(id, seq, body);
  }
  remove(id: Id, seq: number): Promise<boolean> {
    return this.changes.remove(id, seq);
  }
  react(id: Id, seq: number, emoji: string, on: boolean): Promise<boolean> {
    return this.changes.react(id, seq, emoji, on);
  }
  rename(id: Id, title: string): Promise<boolean> {
    return this.changes.rename(id, title);
  }
  addMembers(id: Id, memberIds: Id[]): Promise<boolean> {
    return this.changes.addMembers(id, memberIds);
  }
  leave(id: Id): Promise<boolean> {
    return this.changes.leave(id);
  }
  setMuted(id: Id, muted: boolean): Promise<boolean> {
    return this.changes.setMuted(id, muted);
  }

  /** The user clicked "Turn on notifications": only now is the browser asked. */
  async enableNotifications(): Promise<void> {
    this.notifications = await askPermission();
    this.changed();
  }

  typingNow(id: Id): void {
    const last = this.lastTypingSent.get(id) ?? 0;
    if (Date.now() - last < TYPING_INTERVAL_MS) return;
    if (this.sessions.send({ type: "typing", conversationId: id })) this.lastTypingSent.set(id, Date.now());
  }
}

export const store = new Store();
