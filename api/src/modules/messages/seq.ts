/**
 * "Raise to at least N" without atomic updates. The MongoDB-compatible server used here may
 * lose one of two concurrent conditional updates, so each writer reads (by _id), sets its value
 * if higher, re-reads, and repeats until the stored value is at least its own. A writer stops
 * only when the stored value is ≥ its own, so the stored value ends at the highest one written.
 */
import { Types } from "mongoose";
import { isDuplicateKey, readId, type Db } from "../../libs/db.ts";

const MAX_ROUNDS = 50;
const jitter = () => Bun.sleep(Math.random() * 3);

/** Raises lastSeq (with lastMessageId and lastActivityAt, always set together). */
export async function raiseLastSeq(db: Db, conversationId: Types.ObjectId, seq: number, messageId: Types.ObjectId, at: Date): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = await db.Conversation.findById(conversationId).select({ lastSeq: 1 }).lean();
    if (!now || now.lastSeq >= seq) return;
    await db.Conversation.updateOne({ _id: conversationId, lastSeq: { $lt: seq } }, { $set: { lastSeq: seq, lastMessageId: messageId, lastActivityAt: at } });
    if (round > 0) await jitter();
  }
}

/** Returns true when this call moved the read position forward. */
export async function raiseReadSeq(db: Db, conversationId: string, userId: string, seq: number): Promise<boolean> {
  const _id = readId(conversationId, userId);
  let advanced = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = await db.Read.findById(_id).select({ seq: 1 }).lean();
    if (now && now.seq >= seq) return advanced;
    try {
      const res = await db.Read.updateOne(
        { _id, seq: { $lt: seq } },
        { $set: { seq }, $setOnInsert: { conversationId: new Types.ObjectId(conversationId), userId: new Types.ObjectId(userId) } },
        { upsert: true },
      );
      if (res.modifiedCount > 0 || res.upsertedCount > 0) advanced = true;
    } catch (err) {
      // the upsert met an existing (higher) position: nothing to insert
      if (!isDuplicateKey(err)) throw err;
    }
    if (round > 0) await jitter();
  }
  return advanced;
}

export async function readSeqOf(db: Db, conversationId: string, userId: string): Promise<number> {
  return (await db.Read.findById(readId(conversationId, userId)).select({ seq: 1 }).lean())?.seq ?? 0;
}
