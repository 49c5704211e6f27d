/**
 * Reading history by page (PAGE_SIZE messages, see keys.ts) rather than by block (BLOCK_SIZE):
 * a page of 50 reads 50 to 75 messages instead of 100 to 200, which is most of its cost on the
 * embedded FerretDB (it decodes every document a query returns).
 *
 * Messages written before page keys existed have none. Seqs are contiguous, so a read knows how
 * many messages it must find: a range the pages do not fully cover (up to what is known to be
 * committed) is read again by block, and nothing is missed. Only history reads use this; the
 * sequencer finds its head by block (exact whatever the documents' age).
 */
import type { MessageDoc } from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";
import { BlockReader, messageSeries, PAGES } from "./blocks.ts";

export class HistoryReader {
  private readonly pages: BlockReader<MessageDoc>;
  private readonly blocks: BlockReader<MessageDoc>;

  constructor(
    db: Pick<Db, "Message">,
    conversationId: string,
    /** a seq known to be committed (the conversation's lastSeq, or higher): every seq up to it exists */
    private readonly known: number,
  ) {
    this.pages = new BlockReader(messageSeries(db), conversationId, PAGES);
    this.blocks = new BlockReader(messageSeries(db), conversationId);
  }

  /** Messages with seq in [from, to], ascending. */
  async range(from: number, to: number): Promise<MessageDoc[]> {
    const first = Math.max(1, from);
    if (to < first) return [];
    const docs = await this.pages.range(first, to, this.known);
    // every seq from `first` up to the highest known to exist must be there
    const top = Math.min(to, Math.max(this.known, docs.at(-1)?.seq ?? 0));
    const complete = docs.length === Math.max(0, top - first + 1) && (docs.length === 0 || docs[0]!.seq === first);
    return complete ? docs : this.blocks.range(first, to, this.known);
  }

  /**
   * The highest committed seq, given one known to be committed. Reads forward a page at a time
   * while pages come back full; usually one small lookup.
   */
  head(atLeast: number): Promise<number> {
    return this.pages.head(atLeast);
  }
}
