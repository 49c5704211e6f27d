/**
 * Reading messages by history block (see collections.ts): every read of messages is one or two
 * equality lookups on `block`, each returning at most BLOCK_SIZE documents, however long the
 * conversation is. Seqs are contiguous (the sequencer only ever writes the seq right above one
 * known to be committed), which is what lets a page be computed from seq arithmetic alone.
 */
import { blockKey, blockOf, BLOCK_SIZE, type MessageDoc } from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";

/** The blocks of one conversation read so far by one request (a head probe and the page share them). */
export class BlockReader {
  private readonly blocks = new Map<number, Promise<MessageDoc[]>>();

  constructor(
    private readonly db: Pick<Db, "Message">,
    private readonly conversationId: string,
  ) {}

  block(n: number): Promise<MessageDoc[]> {
    let docs = this.blocks.get(n);
    if (!docs) {
      docs = this.db.Message.collection
        .find<MessageDoc>({ block: blockKey(this.conversationId, n) })
        .toArray()
        .then((rows) => rows.sort((a, b) => a.seq - b.seq));
      this.blocks.set(n, docs);
    }
    return docs;
  }

  /** Messages with seq in [from, to], ascending (at most two blocks when to - from < BLOCK_SIZE). */
  async range(from: number, to: number): Promise<MessageDoc[]> {
    if (to < from || to < 1) return [];
    const first = blockOf(Math.max(1, from));
    const last = blockOf(to);
    const blocks = await Promise.all(Array.from({ length: last - first + 1 }, (_, i) => this.block(first + i)));
    return blocks.flat().filter((m) => m.seq >= from && m.seq <= to);
  }

  /**
   * The highest committed seq, given one known to be committed (or 0). Reads forward from the
   * block above it while blocks come back full; usually one lookup.
   */
  async head(atLeast: number): Promise<number> {
    let head = atLeast;
    for (;;) {
      const n = blockOf(head + 1);
      const docs = await this.block(n);
      const top = docs.length > 0 ? docs[docs.length - 1]!.seq : 0;
      if (top <= head) return head;
      head = top;
      if (top < (n + 1) * BLOCK_SIZE) return head;
    }
  }
}
