/**
 * "Raise to at least N" without atomic updates. The MongoDB-compatible server used here may
 * lose one of two concurrent conditional updates, so each writer sets its value if higher,
 * re-reads (by _id), and repeats until the stored value is at least its own. A writer stops
 * only when the stored value is ≥ its own, so the stored value ends at the highest one written.
 */
import { Types } from "mongoose";
import { isDuplicateKey, readId, type Db } from "../../libs/db.ts";

const MAX_ROUNDS = 50;
const jitter = () => Bun.sleep(Math.random() * 3);
/**
 * A lower writer that read the document before our write may still overwrite it a moment
 * later (the server's update is read-then-write). So "stored ≥ mine" is confirmed again after
 * roughly one update's duration, in the background (the answer does not wait for it), and the
 * raise is redone if the value was lowered. This narrows the window rather than closing it:
 * only an atomic conditional update (MongoDB) closes it; there the first check suffices.
 */
const SETTLE_MS = 25;
const MAX_RECHECKS = 3;
const pending = new Set<Promise<unknown>>();
function recheckLater(
  read: () => Promise<number | undefined>,
  seq: number,
  redo: () => Promise<unknown>,
  depth: number,
) {
  if (depth >= MAX_RECHECKS) return;
  const task = (async () => {
    await Bun.sleep(SETTLE_MS + Math.random() * SETTLE_MS);
    if (((await read()) ?? 0) < seq) await redo();
  })()
    .catch(() => {}) // best effort: the next raise repairs it
    .finally(() => pending.delete(task));
  pending.add(task);
}
/** Waits for background re-checks (graceful shutdown, tests). */
export async function settleBookkeeping(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

/** Raises lastSeq (with lastMessageId and lastActivityAt, always set together). */
export async function raiseLastSeq(
  db: Db,
  conversationId: Types.ObjectId,
  seq: number,
  messageId: Types.ObjectId,
  at: Date,
  depth = 0,
): Promise<void> {
  // update first: after a send the value is almost always lower than ours
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await db.Conversation.updateOne(
      { _id: conversationId, lastSeq: { $lt: seq } },
      { $set: { lastSeq: seq, lastMessageId: messageId, lastActivityAt: at } },
    );
    const read = async () => (await db.Conversation.findById(conversationId).select({ lastSeq: 1 }).lean())?.lastSeq;
    const now = await read();
    if (now === undefined) return;
    if (now >= seq) {
      recheckLater(read, seq, () => raiseLastSeq(db, conversationId, seq, messageId, at, depth + 1), depth);
      return;
    }
    await jitter();
  }
}

/** Returns true when this call moved the read position forward. */
export async function raiseReadSeq(
  db: Db,
  conversationId: string,
  userId: string,
  seq: number,
  depth = 0,
): Promise<boolean> {
  const _id = readId(conversationId, userId);
  let advanced = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    try {
      const res = await db.Read.updateOne(
        { _id, seq: { $lt: seq } },
        {
          $set: { seq },
          $setOnInsert: { conversationId: new Types.ObjectId(conversationId), userId: new Types.ObjectId(userId) },
        },
        { upsert: true },
      );
      if (res.modifiedCount > 0 || res.upsertedCount > 0) advanced = true;
    } catch (err) {
      // the upsert met an existing (higher) position: nothing to insert
      if (!isDuplicateKey(err)) throw err;
    }
    const read = async () => (await db.Read.findById(_id).select({ seq: 1 }).lean())?.seq;
    if (((await read()) ?? 0) >= seq) {
      recheckLater(read, seq, () => raiseReadSeq(db, conversationId, userId, seq, depth + 1), depth);
      return advanced;
    }
    await jitter();
  }
  return advanced;
}

export async function readSeqOf(db: Db, conversationId: string, userId: string): Promise<number> {
  return (await db.Read.findById(readId(conversationId, userId)).select({ seq: 1 }).lean())?.seq ?? 0;
}
