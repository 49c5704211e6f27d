/**
 * Numbers and writes new messages (seq), and likewise the changes of messages (rev): one
 * Sequencer per numbered collection (blocks.ts, Series). Per conversation, a lane takes writes
 * in the order they arrived and gives them the next numbers; the lanes' queued writes are
 * written together, in one ordered insert across conversations (a group commit: one insert
 * command, one transaction, one fsync for all of them). The insert is the only database write
 * of a send.
 *
 * Measured on the embedded FerretDB on PostgreSQL: inserting documents 5 at a time costs a third
 * of the database CPU per document of inserting them one by one, and takes three times as many.
 * Up to MAX_INSERTS inserts run at once; what arrives meanwhile waits for the next, so batches
 * grow with the load and a quiet conversation waits for nothing.
 *
 * Why seqs stay contiguous with no read before the write and several api processes at once:
 *  - a lane numbers from `head`, the highest seq it knows to be committed (its own inserts, or
 *    read from the database), so it never writes seq s unless s - 1 exists; a lane has one
 *    insert in flight at a time;
 *  - the insert is ordered: it stops at the first document that fails, so nothing after a
 *    failure is written (and nothing can skip a seq); the rest goes back to its lanes;
 *  - the unique index (conversationId, seq) is the arbiter between processes: a lane whose head
 *    is stale collides, reads the head again (BlockReader.head) and renumbers what is left;
 *  - a message's _id is derived from (conversation, sender, clientId), so a retried send
 *    collides on _id and answers with the original (idempotency from the index, not a read).
 *    Derived ids also make the compare-and-set of the changes built on this: a system line's
 *    _id names the group version it makes, a change's _id the message version it makes; the
 *    loser of two writes of one version gets the winner's document back (created: false).
 */
import mongoose from "mongoose";
import type { Logger } from "@parley/kit/log";
import { isDuplicateKey } from "../../libs/db.ts";
import type { ApiMetrics } from "../../libs/metrics.ts";
import type { ChangeDoc, MessageDoc } from "../../libs/collections.ts";
import { BlockReader, type ChangeDraft, type MessageDraft, type Numbered, type Series } from "./blocks.ts";

export type Written<D> = { doc: D; created: boolean };

type Draftlike = Omit<Numbered, "block">;
type Waiter<D> = { resolve(w: Written<D>): void; reject(err: unknown): void };
type Pending<D, Draft> = { draft: Draft; waiters: Waiter<D>[] };

type Lane<D, Draft> = {
  id: string;
  /** highest seq known committed; undefined: read it from the database before numbering */
  head: number | undefined;
  /** a lower bound for `head` when it must be read (the conversation's lastSeq, say) */
  floor: number;
  queue: Pending<D, Draft>[];
  /** an insert (or a read of the head) of this lane is in flight */
  busy: boolean;
  /** seq races lost in a row (another process kept writing the seq we tried) */
  conflicts: number;
  lastUsed: number;
};

/** Documents per insert (FerretDB writes at most 100 per statement). */
const MAX_DOCS = 100;
/**
 * Inserts in flight at once, per process. Fewer in flight means more documents per insert under
 * load: measured at saturation (20 closed-loop senders, no sockets), 4 in flight gave 1,032–1,285
 * sends/s and 2 gave 1,827 (86 % of the bare-insert floor), with 250 sends/s still answered in
 * 4 ms at the median (bench/results/send-path-postgresql.md).
 */
const MAX_INSERTS = 2;
const MAX_LANES = 10_000;
/** How long after seeing another process write to a conversation this one still counts it as shared. */
const SHARED_FOR_MS = 10_000;

export class Sequencer<D extends Numbered, Draft extends Draftlike> {
  private readonly lanes = new Map<string, Lane<D, Draft>>();
  /** lanes with writes queued and nothing in flight, in the order they became ready */
  private readonly ready = new Set<Lane<D, Draft>>();
  private inserting = 0;
  /** conversation id → when this process last saw documents there that another process wrote */
  private readonly foreign = new Map<string, number>();

  constructor(private readonly deps: { series: Series<D, Draft>; metrics: ApiMetrics; log: Logger }) {}

  /**
   * Whether another api process wrote to this conversation lately (a seq race lost, or messages
   * found above what was recorded). Only then can its bookkeeping land after ours and lower it.
   */
  shared(conversationId: string): boolean {
    return Date.now() - (this.foreign.get(conversationId) ?? 0) < SHARED_FOR_MS;
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
  write(draft: Draft, floor: number): Promise<Written<D>> {
    const lane = this.lane(draft.conversationId.toHexString());
    lane.floor = Math.max(lane.floor, floor);
    return new Promise<Written<D>>((resolve, reject) => {
      // the same _id already waiting (concurrent retries of one send): share its outcome
      const twin = lane.queue.find((p) => p.draft._id.equals(draft._id));
      if (twin) twin.waiters.push({ resolve: (w) => resolve({ doc: w.doc, created: false }), reject });
      else lane.queue.push({ draft, waiters: [{ resolve, reject }] });
      this.wake(lane);
    });
  }

  private lane(id: string): Lane<D, Draft> {
    let lane = this.lanes.get(id);
    if (!lane) {
      if (this.lanes.size >= MAX_LANES) this.forgetIdle();
      lane = { id, head: undefined, floor: 0, queue: [], busy: false, conflicts: 0, lastUsed: 0 };
      this.lanes.set(id, lane);
    }
    lane.lastUsed = Date.now();
    return lane;
  }

  /** Drops the least recently used idle lanes (their heads are read again when needed). */
  private forgetIdle(): void {
    const idle = [...this.lanes.values()].filter((l) => !l.busy && l.queue.length === 0);
    idle.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const l of idle.slice(0, Math.ceil(idle.length / 2))) this.lanes.delete(l.id);
  }

  private sawForeign(conversationId: string): void {
    if (this.foreign.size >= MAX_LANES) this.foreign.clear();
    this.foreign.set(conversationId, Date.now());
  }

  /** A lane with sends and nothing in flight: read its head if unknown, else line it up. */
  private wake(lane: Lane<D, Draft>): void {
    if (lane.busy || lane.queue.length === 0) return;
    if (lane.head === undefined) {
      lane.busy = true;
      void this.readHead(lane);
      return;
    }
    this.ready.add(lane);
    this.pump();
  }

  private async readHead(lane: Lane<D, Draft>): Promise<void> {
    try {
      lane.head = await new BlockReader(this.deps.series, lane.id).head(lane.floor);
      // messages above what was recorded: someone's bookkeeping for them may still be on its way
      if (lane.head > lane.floor) this.sawForeign(lane.id);
      // a lane that keeps losing races gives the other process a moment
      if (lane.conflicts >= 3) await Bun.sleep(Math.random() * Math.min(lane.conflicts, 10));
    } catch (err) {
      this.fail(lane.queue.splice(0), err);
    } finally {
      lane.busy = false;
      this.wake(lane);
    }
  }

  /** Starts inserts while there are lanes ready and room for another insert. */
  private pump(): void {
    while (this.inserting < MAX_INSERTS && this.ready.size > 0) {
      const parts: Part<D, Draft>[] = [];
      let docs = 0;
      for (const lane of this.ready) {
        if (docs >= MAX_DOCS) break;
        const batch = lane.queue.splice(0, MAX_DOCS - docs);
        parts.push({ lane, batch });
        docs += batch.length;
        lane.busy = true;
        this.ready.delete(lane);
      }
      this.inserting++;
      void this.insert(parts).finally(() => {
        this.inserting--;
        for (const { lane } of parts) {
          lane.busy = false;
          this.wake(lane);
        }
        this.pump();
      });
    }
  }

  /**
   * One ordered insert of every part (each lane's sends numbered from its head). Settles what
   * was written or found written already, and puts the rest back at the front of its lane.
   */
  private async insert(parts: Part<D, Draft>[]): Promise<void> {
    const { series } = this.deps;
    const docs: D[] = [];
    const owner: { lane: Lane<D, Draft>; pending: Pending<D, Draft> }[] = [];
    for (const { lane, batch } of parts) {
      batch.forEach((pending, i) => {
        docs.push(series.place(pending.draft, lane.head! + 1 + i));
        owner.push({ lane, pending });
      });
    }
    let written = docs.length;
    let failed = false;
    try {
      // one document: insertOne (the driver's bulk path costs more CPU than the write)
      if (docs.length === 1) await series.collection.insertOne(docs[0]!);
      else await series.collection.insertMany(docs, { ordered: true });
    } catch (err) {
      const first =
        err instanceof mongoose.mongo.MongoBulkWriteError
          ? [err.writeErrors].flat()[0]
          : docs.length === 1 && isDuplicateKey(err)
            ? { index: 0, code: 11000 }
            : undefined;
      if (!first || !isDuplicateKey(first)) {
        // The database failed: what was written is unknown, so each lane reads its head again
        // and each send answers with the error (a retry finds one that was committed).
        for (const { lane } of parts) lane.head = undefined;
        this.fail(
          owner.map((o) => o.pending),
          err,
        );
        return;
      }
      written = first.index;
      failed = true;
    }
    for (let i = 0; i < written; i++) {
      const { lane, pending } = owner[i]!;
      lane.head = series.numberOf(docs[i]!);
      lane.conflicts = 0;
      settle(pending, { doc: docs[i]!, created: true });
    }
    if (!failed) return;

    // docs[written] collided: with its own original (a retried send), or with a seq another
    // process wrote (its lane's head was stale). Nothing after it was written.
    const clash = owner[written]!;
    const back = new Map<Lane<D, Draft>, Pending<D, Draft>[]>();
    for (const { lane, pending } of owner.slice(written + 1)) back.set(lane, [...(back.get(lane) ?? []), pending]);
    const original = await series.collection.findOne<D>({ _id: clash.pending.draft._id }).catch(() => null);
    if (original) settle(clash.pending, { doc: original, created: false });
    else {
      back.set(clash.lane, [clash.pending, ...(back.get(clash.lane) ?? [])]);
      clash.lane.floor = Math.max(clash.lane.floor, clash.lane.head ?? 0);
      clash.lane.head = undefined;
      clash.lane.conflicts++;
      this.deps.metrics.seqConflicts.inc();
      this.sawForeign(clash.lane.id);
    }
    for (const [lane, pending] of back) lane.queue.unshift(...pending);
  }

  private fail(pending: Pending<D, Draft>[], err: unknown): void {
    for (const p of pending) for (const w of p.waiters) w.reject(err);
  }
}

type Part<D, Draft> = { lane: Lane<D, Draft>; batch: Pending<D, Draft>[] };

function settle<D, Draft>(p: Pending<D, Draft>, w: Written<D>) {
  const [first, ...others] = p.waiters;
  first?.resolve(w);
  for (const o of others) o.resolve({ doc: w.doc, created: false });
}

export type MessageSequencer = Sequencer<MessageDoc, MessageDraft>;
export type ChangeSequencer = Sequencer<ChangeDoc, ChangeDraft>;
