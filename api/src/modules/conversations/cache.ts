/**
 * Conversations by id, kept in memory: the hot paths (a send, a history page, a read mark) need
 * their members, and the conversation list needs the whole document for each of a user's
 * conversations. Reading those documents is what costs on the embedded FerretDB: it decodes
 * every document in Go, about 0.2 ms each (measured: 40 ms for a list of 200 conversations,
 * of which PostgreSQL's share was 0.4 ms), so a list read from memory is far cheaper.
 *
 * Fresh because every change says so:
 *  - a change of membership or title calls `invalidate(id)`;
 *  - the bookkeeping's writes (lastSeq, the last message, lastSent) call `written(id, patch)`:
 *    the entry here is patched;
 *  - both reach every other api process through Redis (`parley:api:conversation-changed`),
 *    which drop their entry. Pub/sub is at-most-once: a subscriber that reconnects forgets
 *    everything, and entries expire after TTL as the last backstop.
 * Only conversations that exist are cached: an unknown id always asks the database, so a
 * conversation created a moment ago on another process is found.
 *
 * Members and name are exact when loaded: the document's copy plus any newer system line
 * (state.ts), so a membership change is in force once its line is committed and the
 * invalidation has arrived. The cached `lastSeq` may lag the real one (it only grows).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@parley/kit/log";
import { type ChannelSubscriber, publish } from "@parley/kit/pubsub";
import type { RedisClient } from "@parley/kit/redis";
import type { ConversationMarks } from "../messages/marks.ts";
import { oid, type ConversationDoc, type Db } from "../../libs/db.ts";
import { Gate } from "@parley/kit/gate";
import { current } from "./state.ts";

export const INVALIDATE_CHANNEL = "parley:api:conversation-changed";

type Entry = { doc: ConversationDoc; expires: number };
/** Loads of missing entries in flight at once (a cold list may need hundreds). */
const LOADS_AT_ONCE = 16;

export class ConversationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<ConversationDoc | null>>();
  private readonly gate = new Gate(LOADS_AT_ONCE);
  /** tags this process's broadcasts, so it ignores its own echo */
  private readonly origin = randomUUID();

  constructor(
    private readonly db: Pick<Db, "Conversation" | "Message">,
    private readonly opts: { ttlMs: number; maxEntries: number; publisher?: RedisClient; log?: Logger },
  ) {}

  /** The conversation, from memory when fresh; null when it does not exist. */
  async get(id: string): Promise<ConversationDoc | null> {
    const hit = this.entries.get(id);
    if (hit && hit.expires > Date.now()) return hit.doc;
    let pending = this.loading.get(id);
    if (!pending) {
      const load: Promise<ConversationDoc | null> = this.gate
        .run(() => this.db.Conversation.findById(oid(id)).lean<ConversationDoc>())
        .then((doc) => (doc ? current(this.db, doc) : null))
        .then((doc) => {
          // an invalidation while we read drops our promise: then the answer is not kept
          if (doc && this.loading.get(id) === load) this.remember(id, doc);
          return doc ?? null;
        })
        .finally(() => {
          if (this.loading.get(id) === load) this.loading.delete(id);
        });
      this.loading.set(id, load);
      pending = load;
    }
    return pending;
  }

  /** Several conversations (those that exist), from memory where fresh. */
  async getMany(ids: string[]): Promise<ConversationDoc[]> {
    const docs = await Promise.all(ids.map((id) => this.get(id)));
    return docs.filter((d): d is ConversationDoc => d !== null);
  }

  /** Members or title changed: drops the entry here and on every other api process. */
  async invalidate(id: string): Promise<void> {
    this.drop(id);
    await this.broadcast(id);
  }

  /**
   * The bookkeeping wrote `marks` to the conversation (only ever forward: a newer last message,
   * higher lastSent and change head): the entry here takes them, other processes drop theirs. A
   * new name or member list drops the entry here too (it is read again, with its system lines).
   */
  written(id: string, marks: ConversationMarks): void {
    // a read of the document that started before this write would bring the old one back
    this.loading.delete(id);
    const hit = this.entries.get(id);
    if (hit && marks.state) this.entries.delete(id);
    else if (hit) hit.doc = withMarks(hit.doc, marks);
    void this.broadcast(id);
  }

  /** Forgets one entry (a change seen from elsewhere). */
  drop(id: string): void {
    this.entries.delete(id);
    this.loading.delete(id);
  }

  /** Follows other processes' changes on a subscriber of its own. */
  follow(subscriber: ChannelSubscriber): void {
    subscriber.onMessage((channel, text) => {
      if (channel !== INVALIDATE_CHANNEL) return;
      const [origin, id] = text.split(" ");
      if (origin !== this.origin && id) this.drop(id);
    });
    // a subscriber that may have missed changes: forget everything once
    subscriber.onResync((lost) => {
      if (lost !== "all" && !lost.includes(INVALIDATE_CHANNEL)) return;
      this.entries.clear();
      this.loading.clear();
    });
    void subscriber.subscribe(INVALIDATE_CHANNEL).catch((err: Error) => {
      this.opts.log?.warn({ err: err.message }, "could not follow conversation changes; relying on the TTL");
    });
  }

  private async broadcast(id: string): Promise<void> {
    const { publisher } = this.opts;
    if (!publisher) return;
    await publish(publisher, INVALIDATE_CHANNEL, `${this.origin} ${id}`).catch((err: Error) => {
      this.opts.log?.warn({ err: err.message, conversationId: id }, "could not broadcast a conversation change");
    });
  }

  private remember(id: string, doc: ConversationDoc): void {
    if (this.entries.size >= this.opts.maxEntries) this.evictExpired();
    this.entries.set(id, { doc, expires: Date.now() + this.opts.ttlMs });
  }

  private evictExpired(): void {
    const now = Date.now();
    for (const [id, e] of this.entries) if (e.expires <= now) this.entries.delete(id);
    // still full of live entries: drop the oldest half (Map keeps insertion order)
    if (this.entries.size >= this.opts.maxEntries) {
      let n = Math.floor(this.entries.size / 2);
      for (const id of this.entries.keys()) {
        if (n-- <= 0) break;
        this.entries.delete(id);
      }
    }
  }
}

/** A cached conversation with what the bookkeeping just wrote to it. */
function withMarks(doc: ConversationDoc, marks: ConversationMarks): ConversationDoc {
  const lastSent = { ...((doc.lastSent ?? {}) as Record<string, number>) };
  for (const [u, s] of Object.entries(marks.sent)) lastSent[u] = Math.max(lastSent[u] ?? 0, s);
  const last = marks.lastMessage;
  const newer =
    last !== undefined &&
    (last.seq > doc.lastSeq ||
      (last.seq === doc.lastSeq && (last.version ?? 0) > ((doc.lastMessage?.version as number | undefined) ?? 0)));
  return {
    ...doc,
    lastSent,
    lastRev: Math.max(doc.lastRev ?? 0, marks.rev ?? 0),
    ...(newer ? { lastSeq: last.seq, lastMessage: last, lastActivityAt: last.createdAt } : {}),
  };
}
