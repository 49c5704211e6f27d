/**
 * Conversations as the hot paths need them (who the members are), kept in memory for a few
 * seconds so a send, a history page or a read mark does not read the conversation every time.
 *
 * A change of membership must call `invalidate(id)`: the entry is dropped here at once and, via
 * Redis, on every other api process (pub/sub is at-most-once, so the short TTL bounds how long a
 * missed invalidation can last). Only conversations that exist are cached: an unknown id always
 * asks the database, so a conversation created a moment ago on another process is found.
 *
 * The cached `lastSeq` is a lower bound of the real one (it only grows), which is all its
 * readers use it for. Its members and name are exact when loaded: the document's copy plus any
 * newer system line (state.ts), so a membership change is in force once its line is committed
 * and the invalidation has arrived.
 */
import type Redis from "ioredis";
import type { Logger } from "@parley/kit/log";
import { oid, type ConversationDoc, type Db } from "../../libs/db.ts";
import { current } from "./state.ts";

export const INVALIDATE_CHANNEL = "parley:api:conversation-changed";

type Entry = { doc: ConversationDoc; expires: number };

export class ConversationCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<ConversationDoc | null>>();

  constructor(
    private readonly db: Pick<Db, "Conversation" | "Message">,
    private readonly opts: { ttlMs: number; maxEntries: number; publisher?: Redis; log?: Logger },
  ) {}

  /** The conversation, from memory when fresh; null when it does not exist. */
  async get(id: string): Promise<ConversationDoc | null> {
    const hit = this.entries.get(id);
    if (hit && hit.expires > Date.now()) return hit.doc;
    let pending = this.loading.get(id);
    if (!pending) {
      const load: Promise<ConversationDoc | null> = this.db.Conversation.findById(oid(id))
        .lean<ConversationDoc>()
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

  /** Drops the entry here and asks every other api process to drop theirs. */
  async invalidate(id: string): Promise<void> {
    this.drop(id);
    await this.opts.publisher?.publish(INVALIDATE_CHANNEL, id).catch((err: Error) => {
      this.opts.log?.warn({ err: err.message, conversationId: id }, "could not broadcast a conversation change");
    });
  }

  /** An invalidation from another process (or our own echo). */
  drop(id: string): void {
    this.entries.delete(id);
    this.loading.delete(id);
  }

  /** Follows other processes' invalidations on a subscriber connection of its own. */
  follow(subscriber: Redis): void {
    subscriber.on("message", (channel: string, id: string) => {
      if (channel === INVALIDATE_CHANNEL) this.drop(id);
    });
    // a subscriber that reconnected may have missed invalidations: forget everything once
    subscriber.on("ready", () => this.entries.clear());
    void subscriber.subscribe(INVALIDATE_CHANNEL).catch((err: Error) => {
      this.opts.log?.warn({ err: err.message }, "could not follow conversation changes; relying on the TTL");
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
