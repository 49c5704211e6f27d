/**
 * "Raise to at least N" without atomic updates. The MongoDB-compatible server used here may
 * lose one of two concurrent conditional updates, so each writer sets its value if higher,
 * re-reads, and repeats until the stored value is at least its own. Every writer stops only
 * when the stored value is ≥ its own, so the stored value ends at the highest one written.
 */
import type { Db } from "../../libs/db.ts";
import { isDuplicateKey } from "../../libs/db.ts";
import { Types } from "mongoose";

const MAX_ROUNDS = 50;
const jitter = () => Bun.sleep(Math.random() * 3);

export async function raiseLastSeq(db: Db, conversationId: Types.ObjectId, seq: number, at: Date): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    await db.Conversation.updateOne({ _id: conversationId, lastSeq: { $lt: seq } }, { $set: { lastSeq: seq, lastActivityAt: at } });
    const now = await db.Conversation.findById(conversationId).select({ lastSeq: 1 }).lean();
    if (!now || now.lastSeq >= seq) return;
    await jitter();
  }
}

/** Returns true when this call moved the read position forward. */
export async function raiseReadSeq(db: Db, conversationId: Types.ObjectId, userId: Types.ObjectId, seq: number): Promise<boolean> {
  let advanced = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    try {
      const res = await db.Read.updateOne({ conversationId, userId, seq: { $lt: seq } }, { $set: { seq } }, { upsert: true });
      if (res.modifiedCount > 0 || res.upsertedCount > 0) advanced = true;
    } catch (err) {
      // the upsert met an existing (higher) position: nothing to insert
      if (!isDuplicateKey(err)) throw err;
    }
    const now = await db.Read.findOne({ conversationId, userId }).select({ seq: 1 }).lean();
    if (now && now.seq >= seq) return advanced;
    await jitter();
  }
  return advanced;
}

export async function readSeqOf(db: Db, conversationId: Types.ObjectId, userId: Types.ObjectId): Promise<number> {
  return (await db.Read.findOne({ conversationId, userId }).select({ seq: 1 }).lean())?.seq ?? 0;
}
