/**
 * What a send leaves to do after the fact, off the request path, coalesced per conversation:
 * raise the conversation's lastSeq (with its copy of the last message and the activity time)
 * and each sender's `lastSent` (a sender has read the conversation up to their own message: a
 * member's read position is the higher of their `reads` document and this). One conversation
 * write carries every message committed since the previous one, at most once per
 * CONVERSATION_INTERVAL_MS. Read positions that members mark (POST …/read) are kept the same
 * way in `reads`, per member.
 *
 * The conversation document carries more that moves only forward, written by the same slot so
 * that this process never lets one of its writes undo another (the server rewrites the whole
 * document): the change head `lastRev`, a newer version of the last message (an edit, a delete:
 * the preview follows), and the group's name and members at version `stateRev` (a system line;
 * written at once and checked again, as its readers wait for it).
 *
 * Every value here only moves forward. "Raise to at least N" without atomic updates: the
 * MongoDB-compatible server used here applies a conditional update as read-then-write (of the
 * whole document), so another api process's write can land after ours and lower what we wrote.
 * Writes of one key are serialized within a process; across processes each write is checked
 * again a moment later and redone if it was lowered (the check narrows the window, only an
 * atomic server closes it: there the first write suffices). Nothing depends on these values
 * being exact at every instant: seqs come from the messages themselves (sequencer.ts), and
 * this process overlays what it has not written yet onto its own answers.
 */
import { type mongo, Types } from "mongoose";
import type { Logger } from "@parley/kit/log";
import {
  readId,
  type GroupStateDoc,
  type LastMessageDoc,
  type MessageDoc,
  type ReadDoc,
} from "../../libs/collections.ts";
import { isDuplicateKey, type Db } from "../../libs/db.ts";
import { Gate } from "@parley/kit/gate";
import { type ConversationMarks, conversationKind, type Kind } from "./marks.ts";

export type { ConversationMarks } from "./marks.ts";

/** at most one write per member's read position this often */
const READ_INTERVAL_MS = 100;
const RECHECK_MS = 50;
const MAX_RECHECKS = 3;
/**
 * A message this old and still above its conversation's stored lastSeq was orphaned: its
 * process stopped between the insert and the bookkeeping, which takes a few seconds at most
 * (CONVERSATION_INTERVAL_MS in marks.ts).
 */
export const ORPHAN_AGE_MS = 15_000;
const ORPHAN_REPAIR_EVERY_MS = 30_000;
/** how long a written value stays known after its write (longer than any single query takes) */
const LINGER_MS = 2000;
/**
 * Writes and re-checks in flight at once, per process. An update holds two of FerretDB's
 * PostgreSQL connections (its read, then its write): measured, a few dozen concurrent updates
 * exhaust FerretDB's pool and it stops answering. A handful is plenty at one write per
 * conversation every few seconds.
 */
const MAX_CONCURRENT = 6;

type Slot<V> = {
  kind: Kind<V>;
  /** everything raised while this slot lives, merged (what this process's answers overlay) */
  latest: V;
  pending: { value: V; waiters: ((advanced: boolean) => void)[] } | null;
  running: boolean;
  lastWrite: number;
};

export class Bookkeeper {
  private readonly slots = new Map<string, Slot<unknown>>();
  /** conversation id → when unrecorded messages were last repaired there */
  private readonly repairedAt = new Map<string, number>();
  private readonly busy = new Set<Promise<unknown>>();
  private readonly gate = new Gate(MAX_CONCURRENT);

  constructor(
    private readonly deps: {
      db: Pick<Db, "Conversation" | "Read">;
      log: Logger;
      /** whether other api processes write to this conversation too (see MessageSequencer.shared) */
      shared?: (conversationId: string) => boolean;
      /** a conversation write went through (the conversation cache takes it) */
      written?: (conversationId: string, marks: ConversationMarks) => void;
    },
  ) {}

  /** A message was committed: raise its conversation's lastSeq and its sender's lastSent (not awaited). */
  messageCommitted(conversationId: string, message: LastMessageDoc): void {
    const marks: ConversationMarks = { lastMessage: message, sent: { [message.senderId.toHexString()]: message.seq } };
    void this.raise(`c:${conversationId}`, marks, () => this.conversationKind(conversationId));
  }

  /**
   * A change of a message was committed: raise the change head, and when the message may be
   * the conversation's last one, its copy there (not awaited).
   */
  messageChanged(conversationId: string, rev: number, message?: LastMessageDoc): void {
    const marks: ConversationMarks = { sent: {}, rev, ...(message ? { lastMessage: message } : {}) };
    void this.raise(`c:${conversationId}`, marks, () => this.conversationKind(conversationId));
  }

  /**
   * A system line was committed: like a message, plus the group's name and members it made,
   * written at once. Resolves when that write is done.
   */
  stateCommitted(conversationId: string, message: LastMessageDoc, state: GroupStateDoc): Promise<boolean> {
    const marks: ConversationMarks = { lastMessage: message, sent: {}, state };
    return this.raise(`c:${conversationId}`, marks, () => this.conversationKind(conversationId));
  }

  /**
   * Raises a member's read position to `seq` (never lowers it). Resolves once a write covering
   * it is done: true when that write moved the stored position.
   */
  raiseRead(conversationId: string, userId: string, seq: number): Promise<boolean> {
    return this.raise(`r:${readId(conversationId, userId)}`, seq, () => this.readKind(conversationId, userId));
  }

  /** What this process committed to a conversation and has not written yet (or just did). */
  unwrittenMarks(conversationId: string): ConversationMarks | undefined {
    return (this.slots.get(`c:${conversationId}`) as Slot<ConversationMarks> | undefined)?.latest;
  }

  /** Likewise for a read position (0 when none). */
  unwrittenRead(conversationId: string, userId: string): number {
    return (this.slots.get(`r:${readId(conversationId, userId)}`) as Slot<number> | undefined)?.latest ?? 0;
  }

  /**
   * Of messages just read from the database, those that may be orphans: committed more than
   * ORPHAN_AGE_MS ago, above the conversation's lastSeq as the caller knows it (`recorded`) and
   * not this process's own unwritten ones. At most once per ORPHAN_REPAIR_EVERY_MS per
   * conversation; the caller checks them against the stored lastSeq (orphans.ts).
   */
  orphanCandidates(conversationId: string, recorded: number, read: MessageDoc[]): MessageDoc[] {
    const mine = this.unwrittenMarks(conversationId)?.lastMessage?.seq ?? 0;
    const old = Date.now() - ORPHAN_AGE_MS;
    const candidates = read.filter((m) => m.seq > Math.max(recorded, mine) && m.createdAt.getTime() < old);
    if (candidates.length === 0) return [];
    if (Date.now() - (this.repairedAt.get(conversationId) ?? 0) < ORPHAN_REPAIR_EVERY_MS) return [];
    if (this.repairedAt.size > 10_000) this.repairedAt.clear();
    this.repairedAt.set(conversationId, Date.now());
    return candidates;
  }

  /** Records messages found committed but never recorded (raised like any new message). */
  recordOrphans(conversationId: string, orphans: MessageDoc[]): void {
    for (const m of orphans) {
      const { conversationId: _mc, block: _mb, page: _mp, ...doc } = m;
      const marks: ConversationMarks = { lastMessage: doc, sent: { [m.senderId.toHexString()]: m.seq } };
      void this.raise(`c:${conversationId}`, marks, () => this.conversationKind(conversationId));
    }
  }

  /** How conversation documents are written (marks.ts), telling the conversation cache what went in. */
  private conversationKind(conversationId: string): Kind<ConversationMarks> {
    const kind = conversationKind(this.deps.db, conversationId, this.deps.shared);
    const { written } = this.deps;
    if (!written) return kind;
    return {
      ...kind,
      async write(m) {
        const moved = await kind.write(m);
        written(conversationId, m);
        return moved;
      },
    };
  }

  /** Waits until every write and re-check in flight is done (graceful stop, tests). */
  async settle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy]);
  }

  private readKind(conversationId: string, userId: string): Kind<number> {
    const reads = this.deps.db.Read.collection as unknown as mongo.Collection<ReadDoc>;
    const _id = readId(conversationId, userId);
    return {
      intervalMs: READ_INTERVAL_MS,
      // a member may mark through several api processes at once: always checked
      contested: () => true,
      merge: Math.max,
      async write(seq) {
        try {
          const res = await reads.updateOne(
            { _id, seq: { $lt: seq } },
            {
              $set: { seq },
              $setOnInsert: { conversationId: new Types.ObjectId(conversationId), userId: new Types.ObjectId(userId) },
            },
            { upsert: true },
          );
          return res.modifiedCount > 0 || res.upsertedCount > 0;
        } catch (err) {
          // the upsert met an existing, higher position: nothing to write
          if (isDuplicateKey(err)) return false;
          throw err;
        }
      },
      lowered: async (seq) => ((await reads.findOne({ _id }, { projection: { seq: 1 } }))?.seq ?? 0) < seq,
    };
  }

  private raise<V>(key: string, value: V, kind: () => Kind<V>): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let slot = this.slots.get(key) as Slot<V> | undefined;
      if (!slot) {
        slot = { kind: kind(), latest: value, pending: null, running: false, lastWrite: 0 };
        this.slots.set(key, slot as Slot<unknown>);
      }
      slot.latest = slot.kind.merge(slot.latest, value);
      // coalesce: one write carries everything raised meanwhile, all waiters hear its outcome
      if (slot.pending) {
        slot.pending.value = slot.kind.merge(slot.pending.value, value);
        slot.pending.waiters.push(resolve);
      } else slot.pending = { value, waiters: [resolve] };
      if (!slot.running) this.track(this.drain(key, slot));
    });
  }

  private track(p: Promise<unknown>) {
    this.busy.add(p);
    void p.finally(() => this.busy.delete(p));
  }

  private async drain<V>(key: string, slot: Slot<V>): Promise<void> {
    slot.running = true;
    try {
      while (slot.pending) {
        const wait = slot.kind.urgent?.(slot.pending.value) ? 0 : slot.lastWrite + slot.kind.intervalMs - Date.now();
        if (wait > 0) await Bun.sleep(wait);
        const { value, waiters } = slot.pending;
        slot.pending = null;
        slot.lastWrite = Date.now();
        const advanced = await this.gate
          .run(() => slot.kind.write(value))
          .catch((err: Error) => {
            this.deps.log.warn({ key, err: err.message }, "bookkeeping write failed; the next one repairs it");
            return false;
          });
        for (const w of waiters) w(advanced);
        if (slot.kind.contested(value)) this.recheckLater(slot.kind, value, 0);
      }
    } finally {
      slot.running = false;
      // kept a little longer: a query that read the document just before our write landed
      // still finds the value here (see unwrittenMarks)
      setTimeout(() => {
        if (this.slots.get(key) === slot && !slot.running && !slot.pending) this.slots.delete(key);
      }, LINGER_MS).unref();
    }
  }

  /** Another process's write may land after ours and lower it: look again shortly, redo if so. */
  private recheckLater<V>(kind: Kind<V>, value: V, depth: number): void {
    if (depth >= MAX_RECHECKS) return;
    this.track(
      (async () => {
        await Bun.sleep(RECHECK_MS + Math.random() * RECHECK_MS);
        if (!(await this.gate.run(() => kind.lowered(value)))) return;
        await this.gate.run(() => kind.write(value));
        this.recheckLater(kind, value, depth + 1);
      })().catch(() => {
        // best effort: the next raise of this key repairs it
      }),
    );
  }
}
