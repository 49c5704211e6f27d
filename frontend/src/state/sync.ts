/**
 * Bringing the client up to date from the api: the conversation list, a thread's newest page,
 * older pages on demand, and the catch-up after a gap or a reconnect: new messages (`?after=`
 * the last contiguous seq) and changes of messages (`…/changes?since=` the thread's rev, after a
 * reconnect only when the messages' page says there are any), page by page, one run of each at a
 * time per conversation.
 */
import type { Conversation, Id } from "@parley/contract";
import { CHANGES_PAGE_MAX, PAGE_MAX } from "@parley/contract/limits";
import { api, ApiError } from "./api-client.ts";
import { mergeServerConversation, upsertConversation } from "./conversations.ts";
import { OneAtATime } from "./one-at-a-time.ts";
import { peerOf } from "./selectors.ts";
import type { StoreState } from "./store-state.ts";
import { applyChanges, lastContiguousSeq, mergeMessages, settlePending } from "./thread.ts";

const PAGE = 50;
const QUOTE_RETRY_MS = 10_000;

export class Sync {
  /** one newest-page load per conversation at a time: opening a chat twice fetches it once */
  private loadingLatest = new Map<Id, Promise<void>>();
  private quoting = new Set<string>();
  private messagesCatchUp = new OneAtATime<boolean>();
  private changesCatchUp = new OneAtATime<boolean>();
  /** the change head the last page of each conversation's messages catch-up was read at */
  private changeHeads = new Map<Id, number>();

  constructor(
    private readonly st: StoreState,
    /** a request failed: a 401 ends the session */
    private readonly failed: (e: unknown) => void,
  ) {}

  /**
   * What the socket may not have said: a live event can be lost (Redis is at-most-once; an api
   * process can stop between its write and its publish). The list's lastSeq per conversation
   * is compared with what each loaded thread holds, and every thread behind it, and the open
   * one in any case, catches up (`?after=`). Cheap: one list request, and a page only where
   * something is missing. Called periodically and when the tab comes back into view.
   */
  async reconcile(): Promise<void> {
    const st = this.st;
    await this.loadConversations({ background: true });
    for (const [id, t] of st.threads) {
      if (!t.loaded) continue;
      const known = st.conversation(id)?.lastSeq ?? 0;
      if (id === st.activeId || known > lastContiguousSeq(t.messages)) void this.catchUp(id, { background: true });
    }
  }

  /**
   * The first page of the list (again after every reconnect). Conversations already known stay:
   * those of later pages, and any a frame brought meanwhile. `background`: a catch-up (the
   * server lets reads someone waits for go first). Resolves to whether it was answered.
   */
  async loadConversations(opts: { background?: boolean } = {}): Promise<boolean> {
    const st = this.st;
    try {
      const page = await api.conversations(undefined, undefined, opts);
      this.merge(page.conversations);
      // a refresh of the first page does not take back pages the user already went through
      if (st.conversationPages <= 1) {
        st.conversationsCursor = page.nextCursor;
        st.conversationPages = 1;
      }
      st.conversationsLoaded = true;
      st.changed();
      void this.refreshPresence();
      return true;
    } catch (e) {
      this.failed(e);
      return false;
    }
  }

  /** The next page of the list, when there is one (the list's "Show more"). */
  async loadMoreConversations(): Promise<void> {
    const st = this.st;
    const cursor = st.conversationsCursor;
    if (!cursor || this.loadingMore) return;
    this.loadingMore = true;
    try {
      const page = await api.conversations(cursor);
      this.merge(page.conversations);
      st.conversationsCursor = page.nextCursor;
      st.conversationPages++;
      st.changed();
      void this.refreshPresence();
    } catch (e) {
      this.failed(e);
    } finally {
      this.loadingMore = false;
    }
  }

  private loadingMore = false;

  private merge(list: readonly Conversation[]): void {
    const st = this.st;
    let next = st.conversations.filter((c) => !list.some((l) => l.id === c.id));
    for (const c of list) next = upsertConversation(next, mergeServerConversation(st.conversation(c.id), c));
    st.conversations = next;
  }

  /**
   * Presence of direct-chat peers the socket has not told us about yet (it sends contacts'
   * presence after `ready`), from the user search, which reports `online`.
   */
  private async refreshPresence() {
    const st = this.st;
    const peers = st.conversations
      .map((c) => peerOf(st, c))
      .filter((p): p is NonNullable<typeof p> => p !== undefined && !st.live.presence.has(p.id))
      .slice(0, 30);
    await Promise.all(
      peers.map(async (p) => {
        const found = (await api.users(p.username, 5).catch(() => [])).find((u) => u.id === p.id);
        // the api tells presence only of people one shares a conversation with
        if (found?.online !== undefined && !st.live.presence.has(found.id))
          st.live.presence.set(found.id, found.online);
      }),
    );
    st.changed();
  }

  loadLatest(id: Id): Promise<void> {
    const running = this.loadingLatest.get(id);
    if (running) return running;
    const run = this.fetchLatest(id).finally(() => this.loadingLatest.delete(id));
    this.loadingLatest.set(id, run);
    return run;
  }

  private async fetchLatest(id: Id): Promise<void> {
    const st = this.st;
    try {
      const c = st.conversation(id) ?? (await api.conversation(id));
      if (!st.conversation(id)) st.conversations = upsertConversation(st.conversations, c);
      // `before=lastSeq+1` is a well-defined "newest page"; anything newer comes from the catch-up.
      const page =
        c.lastSeq > 0
          ? await api.messages(id, { before: c.lastSeq + 1, limit: PAGE })
          : { messages: [], hasMore: false, rev: 0 };
      const t = st.thread(id);
      st.setThread(
        id,
        settlePending({
          ...t,
          messages: mergeMessages(t.messages, page.messages, id),
          hasOlder: page.hasMore,
          loaded: true,
          // the page shows every change up to its rev; a thread loaded before follows its own
          rev: t.loaded ? t.rev : page.rev,
        }),
      );
      await Promise.all([this.catchUp(id), this.catchUpChanges(id)]);
    } catch (e) {
      // not a member (or no such conversation): 404, the same answer either way
      if (e instanceof ApiError && e.status === 404 && st.activeId === id) {
        st.activeId = null;
        st.changed();
      }
      this.failed(e);
    }
  }

  async loadOlder(id: Id): Promise<void> {
    const t = this.st.thread(id);
    const first = t.messages[0];
    if (!t.hasOlder || !first) return;
    const page = await api.messages(id, { before: first.seq, limit: PAGE });
    const now = this.st.thread(id);
    this.st.setThread(id, { ...now, messages: mergeMessages(now.messages, page.messages, id), hasOlder: page.hasMore });
  }

  /** Fetches a message a reply quotes when its thread has not loaded it (once per message). */
  async fetchQuote(id: Id, seq: number): Promise<void> {
    const key = `${id}:${seq}`;
    if (this.quoting.has(key) || this.st.quotes.has(key)) return;
    // asked once; a failed request may be asked again a little later
    this.quoting.add(key);
    try {
      const [m] = (await api.messages(id, { after: seq - 1, limit: 1 })).messages;
      if (m) {
        this.st.quotes.set(key, m);
        this.st.changed();
      }
    } catch {
      // the quote says "an earlier message" meanwhile
      setTimeout(() => this.quoting.delete(key), QUOTE_RETRY_MS);
    }
  }

  /** Loads older pages until the message `seq` is in the thread (a reply's quote was clicked). */
  async loadUntil(id: Id, seq: number): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const t = this.st.thread(id);
      if (!t.hasOlder || (t.messages[0]?.seq ?? Number.POSITIVE_INFINITY) <= seq) return;
      await this.loadOlder(id);
    }
  }

  /**
   * After a reconnect: the messages first, then the changes only if something changed past what
   * the thread holds. A page of messages says the conversation's change head when it was read,
   * and every change up to it was committed before the socket was `ready` or reaches it live, so
   * a thread at that rev has them all. After a short disconnect that is the usual case: one
   * request instead of two, which counts when a replica's users all reconnect at once.
   * Resolves to whether every request was answered.
   */
  async catchUpAfterReconnect(id: Id, opts: { background?: boolean } = {}): Promise<boolean> {
    this.changeHeads.delete(id);
    const messages = await this.catchUp(id, opts);
    const head = this.changeHeads.get(id);
    // not known (the catch-up failed): ask
    if (head === undefined || head > this.st.thread(id).rev) return (await this.catchUpChanges(id, opts)) && messages;
    return messages;
  }

  /**
   * Fetches every message after the last contiguous seq, page by page. `background`: after a
   * reconnect or a gap, not for a person opening the conversation (see loadConversations).
   * Resolves to whether every page was answered.
   */
  catchUp(id: Id, opts: { background?: boolean } = {}): Promise<boolean> {
    const st = this.st;
    return this.messagesCatchUp.run(id, async () => {
      try {
        for (let i = 0; i < 1000; i++) {
          const t = st.thread(id);
          const page = await api.messages(id, { after: lastContiguousSeq(t.messages), limit: PAGE_MAX }, opts);
          const now = st.thread(id);
          st.setThread(id, settlePending({ ...now, messages: mergeMessages(now.messages, page.messages, id) }));
          for (const m of page.messages) st.noteMessage(m, false);
          this.changeHeads.set(id, page.rev);
          if (!page.hasMore || !page.messages.length) break;
        }
        return true;
      } catch (e) {
        this.failed(e);
        return false;
      }
    });
  }

  /**
   * Fetches every change of messages after the thread's rev, page by page, in rev order: what
   * was edited, deleted or reacted to while this client was not listening. Resolves to whether
   * every page was answered.
   */
  catchUpChanges(id: Id, opts: { background?: boolean } = {}): Promise<boolean> {
    const st = this.st;
    return this.changesCatchUp.run(id, async () => {
      try {
        for (let i = 0; i < 1000; i++) {
          const since = st.thread(id).rev;
          const page = await api.changes(id, since, CHANGES_PAGE_MAX, opts);
          const now = st.thread(id);
          st.setThread(id, { ...applyChanges(now, page.changes), rev: Math.max(now.rev, page.rev) });
          for (const c of page.changes) st.noteChanged(c.message);
          if (!page.hasMore) break;
        }
        return true;
      } catch (e) {
        this.failed(e);
        return false;
      }
    });
  }
}
