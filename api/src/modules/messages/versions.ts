/**
 * Messages as they are now. A message document is written once (and, when the message is
 * deleted, emptied); every change of it is a version in `changes` (changes/service.ts), found
 * by the history block of its message (`msgBlock`, one equality per block). Folding the newest
 * version of each message into the page is exact: no copy of a message's state is kept that a
 * concurrent write could leave behind.
 */
import { blockKey, blockOf, type ChangeDoc, type MessageDoc, type MessageState } from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";
import { withVersion } from "../conversations/views.ts";
import { BlockReader, changeSeries } from "./blocks.ts";

/** The newest version of each message of the given history blocks, by message id. */
export async function newestVersions(
  db: Pick<Db, "Change">,
  conversationId: string,
  blocks: number[],
): Promise<Map<string, ChangeDoc>> {
  const found = await Promise.all(
    [...new Set(blocks)].map((n) =>
      db.Change.collection.find<ChangeDoc>({ msgBlock: blockKey(conversationId, n) }).toArray(),
    ),
  );
  const newest = new Map<string, ChangeDoc>();
  for (const v of found.flat()) {
    const id = v.messageId.toHexString();
    if ((newest.get(id)?.version ?? -1) < v.version) newest.set(id, v);
  }
  return newest;
}

/**
 * Messages with their newest versions folded in. `rev` (the conversation's change head, read
 * before this) says whether anything ever changed: 0 saves the lookups.
 */
export async function asTheyAreNow(
  db: Pick<Db, "Change">,
  conversationId: string,
  docs: MessageDoc[],
  rev: number,
): Promise<(MessageDoc & MessageState)[]> {
  const versions =
    rev > 0 && docs.length > 0
      ? await newestVersions(
          db,
          conversationId,
          docs.map((m) => blockOf(m.seq)),
        )
      : new Map<string, ChangeDoc>();
  return docs.map((m) => withVersion(m, versions.get(m._id.toHexString())));
}

/** The change head of a conversation, given a rev known to be committed: one block lookup. */
export const changeHead = (db: Pick<Db, "Change">, conversationId: string, known: number) =>
  new BlockReader(changeSeries(db), conversationId).head(known);
