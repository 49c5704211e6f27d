/**
 * Numbers and writes new messages: per conversation, one lane that takes sends in the order
 * they arrived, gives them the next seqs and inserts them, several at once when they queue up
 * (one insert, one commit). The insert is the only database write of a send.
 *
 * Why seqs stay contiguous with no read before the write and several api processes at once:
 *  - a lane numbers from `head`, the highest seq it knows to be committed (its own inserts, or
 *    read from the database), so it never writes seq s unless s - 1 exists;
 *  - the unique index (conversationId, seq) is the arbiter between processes: a lane whose head
 *    is stale collides, reads the head again (BlockReader.head) and renumbers what is left;
 *  - a message's _id is derived from (conversation, sender, clientId), so a retried send
 *    collides on _id and answers with the original (idempotency from the index, not a read).
 * Within one process there are no conflicts at all: a lane has one insert in flight.
 */
import mongoose from "mongoose";
import type { Logger } from "@parley/kit/log";
import { blockKey, blockOf, type MessageDoc } from "../../libs/collections.ts";
import { isDuplicateKey, type Db } from "../../libs/db.ts";
import type { ApiMetrics } from "../../libs/metrics.ts";
import { BlockReader } from "./blocks.ts";

/** A message as the send path prepared it, before it has a seq. */
export type Draft = Omit<MessageDoc, "seq" | "block">;
export type Written = { doc: MessageDoc; created: boolean };

type Waiter = { resolve(w: Written): void; reject(err: unknown): void };
type Pending = { draft: Draft; waiters: Waiter[] };

type Lane = {
  /** highest seq known committed; undefined: read it from the database before numbering */
  head: number | undefined;
  /** a lower bound for `head` when it must be read (the conversation's lastSeq, say) */
  floor: number;
  queue: Pending[];
  running: boolean;
  lastUsed: number;
};

/** Most sends written by one insert (the database's own batch limit is 100). */
const MAX_BATCH = 64;
/** A lane that lost this many seq races in a row gives the others a moment. */
const CONFLICT_PAUSE_AFTER = 3;
const MAX_LANES = 10_000;

/** How long after seeing another process write to a conversation this one still counts it as shared. */
const SHARED_FOR_MS = 10_000;

export class MessageSequencer {
  private readonly lanes = new Map<string, Lane>();
  /** conversation id → when this process last saw messages there that another process wrote */
  private readonly foreign = new Map<string, number>();

  constructor(private readonly deps: { db: Pick<Db, "Message">; metrics: ApiMetrics; log: Logger }) {}

  /**
   * Whether another api process wrote to this conversation lately (a seq race lost, or messages
   * found above what was recorded). Only then can its bookkeeping land after ours and lower it.
   */
  shared(conversationId: string): boolean {
    return Date.now() - (this.foreign.get(conversationId) ?? 0) < SHARED_FOR_MS;
  }

  private sawForeign(conversationId: string): void {
    if (this.foreign.size >= MAX_LANES) this.foreign.clear();
    this.foreign.set(conversationId, Date.now());
  }

  /** The highest seq this process knows to be committed in a conversation (0 if none known). */
  knownHead(conversationId: string): number {
    const lane = this.lanes.get(conversationId);
    return Math.max(lane?.head ?? 0, lane?.floor ?? 0);
  }

  /**
   * Writes `draft` with the next seq of its conversation. `floor` is a seq known to be
   * committed (it saves reading the head when this process has not written there yet).
   * Resolves with the stored message: created, or the original of an earlier send with the
   * same _id. Rejects when the database fails; the message may then exist (a retry finds it).
   */
  write(draft: Draft, floor: number): Promise<Written> {
    const conversationId = draft.conversationId.toHexString();
    const lane = this.lane(conversationId);
    lane.floor = Math.max(lane.floor, floor);
    return new Promise<Written>((resolve, reject) => {
      // the same _id already waiting (concurrent retries of one send): share its outcome
      const twin = lane.queue.find((p) => p.draft._id.equals(draft._id));
      if (twin) twin.waiters.push({ resolve: (w) => resolve({ doc: w.doc, created: false }), reject });
      else lane.queue.push({ draft, waiters: [{ resolve, reject }] });
      if (!lane.running) void this.run(conversationId, lane);
    });
  }

  private lane(conversationId: string): Lane {
    let lane = this.lanes.get(conversationId);
    if (!lane) {
      if (this.lanes.size >= MAX_LANES) this.forgetIdle();
      lane = { head: undefined, floor: 0, queue: [], running: false, lastUsed: Date.now() };
      this.lanes.set(conversationId, lane);
    }
    lane.lastUsed = Date.now();
    return lane;
  }

  /** Drops the least recently used idle lanes (their heads are read again when needed). */
  private forgetIdle(): void {
    const idle = [...this.lanes].filter(([, l]) => !l.running && l.queue.length === 0);
    idle.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [id] of idle.slice(0, Math.ceil(idle.length / 2))) this.lanes.delete(id);
  }

  private async run(conversationId: string, lane: Lane): Promise<void> {
    lane.running = true;
    let conflicts = 0;
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue.splice(0, MAX_BATCH);
        try {
          if (lane.head === undefined) {
            lane.head = await new BlockReader(this.deps.db, conversationId).head(lane.floor);
            // messages above what was recorded: someone's bookkeeping for them may still be on its way
            if (lane.head > lane.floor) this.sawForeign(conversationId);
          }
          const lost = await this.insert(conversationId, lane, batch);
          if (lost) {
            conflicts++;
            this.deps.metrics.seqConflicts.inc();
            if (conflicts >= CONFLICT_PAUSE_AFTER) await Bun.sleep(Math.random() * Math.min(conflicts, 10));
          } else conflicts = 0;
        } catch (err) {
          // The database failed: what this batch wrote is unknown, so the head is read again
          // next time, and each send answers with the error (a retry finds a committed one).
          lane.head = undefined;
          for (const p of batch) for (const w of p.waiters) w.reject(err);
        }
      }
    } finally {
      lane.running = false;
    }
  }

  /**
   * Inserts the batch in order from lane.head + 1. Settles the sends it wrote or found already
   * written, puts the rest back at the front of the queue, and returns whether a seq race was
   * lost (another process wrote the seq we tried).
   */
  private async insert(conversationId: string, lane: Lane, batch: Pending[]): Promise<boolean> {
    const base = lane.head!;
    const docs: MessageDoc[] = batch.map((p, i) => {
      const seq = base + 1 + i;
      return { ...p.draft, seq, block: blockKey(conversationId, blockOf(seq)) };
    });
    let written = docs.length;
    let failure: unknown = null;
    try {
      // one document: insertOne (the driver's bulk path costs more CPU than the write)
      if (docs.length === 1) await this.deps.db.Message.collection.insertOne(docs[0]!);
      else await this.deps.db.Message.collection.insertMany(docs, { ordered: true });
    } catch (err) {
      const first =
        err instanceof mongoose.mongo.MongoBulkWriteError
          ? [err.writeErrors].flat()[0]
          : docs.length === 1 && isDuplicateKey(err)
            ? { index: 0, code: 11000 }
            : undefined;
      if (!first || !isDuplicateKey(first)) throw err;
      written = first.index;
      failure = err;
    }
    lane.head = base + written;
    for (let i = 0; i < written; i++) settle(batch[i]!, { doc: docs[i]!, created: true });
    if (failure === null) return false;

    // batch[written] collided: with its own original (a retried send), or with a seq another
    // process wrote (our head was stale)
    const rest = batch.slice(written);
    const clash = rest[0]!;
    const original = await this.deps.db.Message.collection.findOne<MessageDoc>({ _id: clash.draft._id });
    if (original) {
      settle(clash, { doc: original, created: false });
      lane.queue.unshift(...rest.slice(1));
      return false;
    }
    lane.head = undefined;
    lane.floor = Math.max(lane.floor, base + written);
    lane.queue.unshift(...rest);
    this.sawForeign(conversationId);
    return true;
  }
}

function settle(p: Pending, w: Written) {
  const [first, ...others] = p.waiters;
  first?.resolve(w);
  for (const o of others) o.resolve({ doc: w.doc, created: false });
}
