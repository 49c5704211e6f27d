/**
 * Reading numbered documents by block (see collections.ts): every read of messages (by seq) or
 * of changes (by rev) is one or two equality lookups on `block`, each returning at most
 * BLOCK_SIZE documents, however long the conversation is. Numbers are contiguous (the sequencer
 * only ever writes the number right above one known to be committed), which is what lets a
 * page be computed from arithmetic alone. History pages read the finer page keys of messages
 * first and come here for what those do not cover (history-reader.ts).
 */
import type { Collection, Types } from "mongoose";
import {
  blockKey,
  blockOf,
  BLOCK_SIZE,
  type ChangeDoc,
  type MessageDoc,
  PAGE_SIZE,
  pageKey,
  pageOf,
} from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";

/** A document numbered 1, 2, 3… per conversation, kept in blocks of BLOCK_SIZE. */
export type Numbered = { _id: Types.ObjectId; conversationId: Types.ObjectId; block: string };

/** Where numbered documents live, and which field holds the number. */
export type Source<D extends Numbered> = { collection: Collection; numberOf(doc: D): number };

/** A numbered collection as the sequencer writes it: a draft gets a number and its block. */
export type Series<D extends Numbered, Draft extends Omit<Numbered, "block">> = Source<D> & {
  place(draft: Draft, n: number): D;
};

export type MessageDraft = Omit<MessageDoc, "seq" | "block" | "page">;
export type ChangeDraft = Omit<ChangeDoc, "rev" | "block">;

export const messageSeries = (db: Pick<Db, "Message">): Series<MessageDoc, MessageDraft> => ({
  collection: db.Message.collection,
  numberOf: (m) => m.seq,
  place: (draft, seq) => {
    const id = draft.conversationId.toHexString();
    return { ...draft, seq, block: blockKey(id, blockOf(seq)), page: pageKey(id, pageOf(seq)) };
  },
});

export const changeSeries = (db: Pick<Db, "Change">): Series<ChangeDoc, ChangeDraft> => ({
  collection: db.Change.collection,
  numberOf: (c) => c.rev,
  place: (draft, rev) => ({ ...draft, rev, block: blockKey(draft.conversationId.toHexString(), blockOf(rev)) }),
});

/** How numbered documents are grouped for reading: the field holding the group's key, and its size. */
export type Grain = { field: "block" | "page"; size: number; key(conversationId: string, n: number): string };
/** Blocks of BLOCK_SIZE: every numbered document has one. */
export const BLOCKS: Grain = { field: "block", size: BLOCK_SIZE, key: blockKey };
/** Pages of PAGE_SIZE: messages written since page keys exist (history-reader.ts). */
export const PAGES: Grain = { field: "page", size: PAGE_SIZE, key: pageKey };

/** The blocks of one conversation read so far by one request (a head probe and the page share them). */
export class BlockReader<D extends Numbered = MessageDoc> {
  private readonly blocks = new Map<number, Promise<D[]>>();

  constructor(
    private readonly series: Source<D>,
    private readonly conversationId: string,
    private readonly grain: Grain = BLOCKS,
  ) {}

  private groupOf(n: number): number {
    return Math.floor((n - 1) / this.grain.size);
  }

  block(n: number): Promise<D[]> {
    let docs = this.blocks.get(n);
    if (!docs) {
      const number = this.series.numberOf;
      docs = this.series.collection
        .find<D>({ [this.grain.field]: this.grain.key(this.conversationId, n) })
        .toArray()
        .then((rows) => rows.sort((a, b) => number(a) - number(b)));
      this.blocks.set(n, docs);
    }
    return docs;
  }

  /**
   * Documents numbered [from, to], ascending (at most two blocks when to - from < the grain's size).
   *
   * With `known` (every number up to it is known to exist), a range that reaches past it reads its
   * first block alone, and the others only when that one is full: numbers are contiguous, so a
   * block that ends short has nothing above it. A catch-up asks for up to a page past what the
   * client holds and usually finds nothing there: one lookup instead of one per block it spans
   * (five pages of messages, two blocks of changes).
   */
  async range(from: number, to: number, known?: number): Promise<D[]> {
    if (to < from || to < 1) return [];
    const first = this.groupOf(Math.max(1, from));
    const last = this.groupOf(to);
    const number = this.series.numberOf;
    const read = (a: number, b: number) => Promise.all(Array.from({ length: b - a + 1 }, (_, i) => this.block(a + i)));
    const firstEnd = (first + 1) * this.grain.size;
    let blocks: D[][];
    if (known === undefined || last === first || known >= firstEnd) blocks = await read(first, last);
    else {
      const opening = await this.block(first);
      const full = opening.length > 0 && number(opening[opening.length - 1]!) === firstEnd;
      blocks = full ? [opening, ...(await read(first + 1, last))] : [opening];
    }
    return blocks.flat().filter((d) => number(d) >= from && number(d) <= to);
  }

  /**
   * The highest committed number, given one known to be committed (or 0). Reads forward from
   * the block above it while blocks come back full; usually one lookup.
   */
  async head(atLeast: number): Promise<number> {
    let head = atLeast;
    for (;;) {
      const n = this.groupOf(head + 1);
      const docs = await this.block(n);
      const top = docs.length > 0 ? this.series.numberOf(docs[docs.length - 1]!) : 0;
      if (top <= head) return head;
      head = top;
      if (top < (n + 1) * this.grain.size) return head;
    }
  }
}
