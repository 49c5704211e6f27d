/**
 * The one client store: session, conversations, threads (messages per conversation), presence,
 * typing and the socket's status. Components read it through `StoreController` and call its
 * actions; the ordering and dedupe rules are the pure functions of thread.ts/conversations.ts.
 */
import type { Conversation, Credentials, Id, Message, User } from "@parley/contract";
import type { ServerFrame } from "@parley/contract/frames";
import { PAGE_MAX, TYPING_INTERVAL_MS } from "@parley/contract/limits";
import { api, ApiError } from "./api-client.ts";
import {
  applyMessage,
  applyRead,
  conversationName,
  directPeer,
  mergeServerConversation,
  upsertConversation,
} from "./conversations.ts";
import { SocketClient, type ConnectionStatus } from "./socket-client.ts";
import { LiveSignals } from "./live.ts";
import { Outbox } from "./outbox.ts";
import { loadPending, savePending } from "./saved-pending.ts";
import {
  addPending,
  confirmMessage,
  emptyThread,
  gapAfter,
  isGap,
  lastContiguousSeq,
  mergeMessages,
  settlePending,
  type Thread,
} from "./thread.ts";

export type Session =
  | { status: "loading" }
  | { status: "signed-out"; reason?: string }
  | { status: "signed-in"; user: User };

const PAGE = 50;

export class Store extends EventTarget {
  session: Session = { status: "loading" };
  conversations: Conversation[] = [];
  conversationsLoaded = false;
  threads = new Map<Id, Thread>();
  /** presence, typing, others' read positions */
  readonly live = new LiveSignals(() => this.changed());
  connection: ConnectionStatus = "offline";
  activeId: Id | null = null;
  /** the last line for screen readers (aria-live region) */
  announcement = "";

  private socket: SocketClient | null = null;
  private outbox = new Outbox({
    thread: (id) => this.thread(id),
    setThread: (id, t) => this.setThread(id, t),
    threads: () => this.threads,
    sent: (m) => this.updateSummary(m, true),
    failed: (e) => this.handleAuthError(e),
  });
  private catchingUp = new Map<Id, Promise<void>>();
  private lastTypingSent = new Map<Id, number>();
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

  // ---------- session ----------
  async init(): Promise<void> {
    try {
      this.signedIn(await api.me());
    } catch (e) {
      this.session = { status: "signed-out" };
      if (e instanceof ApiError && e.status === 0)
        this.session = { status: "signed-out", reason: "The server cannot be reached." };
      this.changed();
    }
  }

  async register(c: Credentials): Promise<void> {
    this.signedIn((await api.register(c)).user);
  }

  async login(c: Credentials): Promise<void> {
    this.signedIn((await api.login(c)).user);
  }

  async logout(): Promise<void> {
    await api.logout().catch(() => undefined);
    this.signedOut();
  }

  private signedIn(user: User) {
    this.session = { status: "signed-in", user };
    this.changed();
    this.socket = new SocketClient({
      onFrame: (f) => this.onFrame(f),
      onStatus: (s) => {
        this.connection = s;
        this.changed();
      },
      onSessionExpired: () => this.signedOut("Your session expired. Please sign in again."),
      onRepeatedFailure: () => void this.checkSession(),
    });
    // messages still unconfirmed when the last tab closed go out again once the socket is ready
    for (const p of loadPending(user.id))
      this.setThread(p.conversationId, addPending(this.thread(p.conversationId), { ...p, status: "pending" }));
    this.socket.start();
    addEventListener("online", this.outbox.retryWaiting);
    void this.loadConversations();
  }

  private signedOut(reason?: string) {
    this.socket?.stop();
    this.socket = null;
    removeEventListener("online", this.outbox.retryWaiting);
    this.outbox.stop();
    this.session = { status: "signed-out", reason };
    this.conversations = [];
    this.conversationsLoaded = false;
    this.threads.clear();
    this.live.clear();
    this.activeId = null;
    this.changed();
  }

  private async checkSession() {
    try {
      await api.me();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) this.signedOut("Your session expired. Please sign in again.");
    }
  }

  // ---------- conversations ----------
  async loadConversations(): Promise<void> {
    try {
      const list = await api.conversations();
      let next = this.conversations.filter((c) => !list.some((l) => l.id === c.id));
      for (const c of list) next = upsertConversation(next, mergeServerConversation(this.conversation(c.id), c));
      this.conversations = next;
      this.conversationsLoaded = true;
      this.changed();
      void this.refreshPresence();
    } catch (e) {
      this.handleAuthError(e);
    }
  }

  conversation(id: Id | null): Conversation | undefined {
    return id ? this.conversations.find((c) => c.id === id) : undefined;
  }

  nameOf(c: Conversation): string {
    return conversationName(c, this.me?.id);
  }

  async createConversation(memberIds: Id[], title?: string): Promise<Conversation> {
    const c = await api.createConversation({ memberIds, ...(title ? { title } : {}) });
    this.conversations = upsertConversation(this.conversations, c);
    this.changed();
    return c;
  }

  /**
   * Presence of direct-chat peers the socket has not told us about yet (it sends contacts'
   * presence after `ready`), from the user search, which reports `online`.
   */
  private async refreshPresence() {
    const me = this.me?.id;
    const peers = this.conversations
      .map((c) => directPeer(c, me))
      .filter((p) => p !== undefined && !this.live.presence.has(p.id))
      .slice(0, 30);
    await Promise.all(
      peers.map(async (p) => {
        const found = (await api.users(p!.username, 5).catch(() => [])).find((u) => u.id === p!.id);
        if (found && !this.live.presence.has(found.id)) this.live.presence.set(found.id, found.online);
      }),
    );
    this.changed();
  }

  // ---------- threads ----------
  thread(id: Id): Thread {
    return this.threads.get(id) ?? emptyThread();
  }

  private setThread(id: Id, t: Thread) {
    const before = this.threads.get(id);
    if (before === t) return;
    this.threads.set(id, t);
    if (before?.pending !== t.pending && this.me)
      savePending(
        this.me.id,
        [...this.threads.values()].flatMap((x) => x.pending),
      );
    this.changed();
  }

  open(id: Id | null): void {
    this.activeId = id;
    this.changed();
    if (id && !this.thread(id).loaded) void this.loadLatest(id);
  }

  async loadLatest(id: Id): Promise<void> {
    try {
      const c = this.conversation(id) ?? (await api.conversation(id));
      if (!this.conversation(id)) this.conversations = upsertConversation(this.conversations, c);
      // `before=lastSeq+1` is a well-defined "newest page"; anything newer comes from the catch-up.
      const page =
        c.lastSeq > 0
          ? await api.messages(id, { before: c.lastSeq + 1, limit: PAGE })
          : { messages: [], hasMore: false };
      const t = this.thread(id);
      this.setThread(
        id,
        settlePending({
          ...t,
          messages: mergeMessages(t.messages, page.messages, id),
          hasOlder: page.hasMore,
          loaded: true,
        }),
      );
      await this.catchUp(id);
    } catch (e) {
      // not a member (or no such conversation): 404, the same answer either way
      if (e instanceof ApiError && e.status === 404 && this.activeId === id) this.open(null);
      this.handleAuthError(e);
    }
  }

  async loadOlder(id: Id): Promise<void> {
    const t = this.thread(id);
    const first = t.messages[0];
    if (!t.hasOlder || !first) return;
    const page = await api.messages(id, { before: first.seq, limit: PAGE });
    const now = this.thread(id);
    this.setThread(id, { ...now, messages: mergeMessages(now.messages, page.messages, id), hasOlder: page.hasMore });
  }

  /** Fetches everything after the last contiguous seq, page by page, once at a time per conversation. */
  catchUp(id: Id): Promise<void> {
    const running = this.catchingUp.get(id);
    if (running) return running.then(() => this.catchUp(id));
    const run = (async () => {
      for (let i = 0; i < 1000; i++) {
        const t = this.thread(id);
        const page = await api.messages(id, { after: lastContiguousSeq(t.messages), limit: PAGE_MAX });
        const now = this.thread(id);
        this.setThread(id, settlePending({ ...now, messages: mergeMessages(now.messages, page.messages, id) }));
        for (const m of page.messages) this.updateSummary(m, false);
        if (!page.hasMore || !page.messages.length) break;
      }
    })()
      .catch((e) => this.handleAuthError(e))
      .finally(() => this.catchingUp.delete(id));
    this.catchingUp.set(id, run);
    return run;
  }

  // ---------- sending ----------
  send(id: Id, body: string): void {
    if (this.me) this.outbox.send(id, this.me.id, body);
  }

  retry(id: Id, clientId: string): void {
    this.outbox.retry(id, clientId);
  }

  // ---------- reading, typing ----------
  markRead(id: Id, seq: number): void {
    const c = this.conversation(id);
    if (!c || seq <= c.readSeq) return;
    this.conversations = this.conversations.map((x) => (x.id === id ? applyRead(x, seq) : x));
    this.changed();
    void api.read(id, seq).catch(() => undefined);
  }

  typingNow(id: Id): void {
    const last = this.lastTypingSent.get(id) ?? 0;
    if (Date.now() - last < TYPING_INTERVAL_MS) return;
    if (this.socket?.send({ type: "typing", conversationId: id })) this.lastTypingSent.set(id, Date.now());
  }

  // ---------- live frames ----------
  private onFrame(f: ServerFrame): void {
    switch (f.type) {
      case "ready":
        // After every (re)connect: fetch what was missed, then send what is still waiting.
        void this.loadConversations();
        for (const id of this.threads.keys()) if (this.thread(id).loaded) void this.catchUp(id);
        this.outbox.retryWaiting();
        break;
      case "message":
        this.onMessage(f.message);
        break;
      case "conversation":
        this.conversations = upsertConversation(this.conversations, f.conversation);
        this.changed();
        break;
      case "read":
        if (f.userId === this.me?.id) {
          this.conversations = this.conversations.map((c) => (c.id === f.conversationId ? applyRead(c, f.seq) : c));
          this.changed();
        } else this.live.onOthersRead(f);
        break;
      case "typing":
        if (f.userId !== this.me?.id) this.live.onTyping(f);
        break;
      case "presence":
        this.live.onPresence(f);
        break;
      case "error":
        console.warn("parley: server said", f.code, f.message);
        break;
    }
  }

  private onMessage(m: Message): void {
    const known = this.conversation(m.conversationId);
    if (!known) {
      // A conversation we have not seen yet (just added): its summary includes this message.
      void api.conversation(m.conversationId).then(
        (c) => {
          this.conversations = upsertConversation(this.conversations, c);
          this.changed();
        },
        () => undefined,
      );
    }
    const t = this.threads.get(m.conversationId);
    if (t?.loaded) {
      const gap = isGap(t.messages, m.seq);
      const next = confirmMessage(t, m);
      this.setThread(m.conversationId, next);
      if (gap || gapAfter(next.messages) !== null) void this.catchUp(m.conversationId);
    }
    this.updateSummary(m, false);
    this.live.stoppedTyping(m.conversationId, m.senderId);
    if (m.senderId !== this.me?.id && known) this.announcement = `New message from ${this.senderName(m)}: ${m.body}`;
    this.changed();
  }

  private updateSummary(m: Message, mine: boolean) {
    const me = this.me?.id;
    if (!me) return;
    const seen = mine || (this.activeId === m.conversationId && document.visibilityState === "visible");
    const before = this.conversation(m.conversationId);
    if (!before) return;
    const after = applyMessage(before, m, me, seen);
    if (after !== before) {
      this.conversations = upsertConversation(this.conversations, after);
      this.changed();
    }
  }

  senderName(m: { senderId: Id; conversationId: Id }): string {
    return this.conversation(m.conversationId)?.members.find((u) => u.id === m.senderId)?.username ?? "Someone";
  }

  private handleAuthError(e: unknown) {
    if (e instanceof ApiError && e.status === 401) this.signedOut("Your session expired. Please sign in again.");
  }
}

export const store = new Store();
