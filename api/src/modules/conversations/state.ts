/**
 * A group's name and member list, versioned. Version n+1 is made by exactly one system line,
 * whose `_id` is derived from (conversation, n+1) (keys.ts, stateMessageId): two changes made
 * from version n collide there, one wins, the other is made again on top of the winner's
 * (groups/service.ts). The log of system lines is the truth; the conversation document's
 * `title`, `memberIds`, `memberNames` and `stateRev` are a copy written right after each line
 * (bookkeeping.ts) and checked again, because the embedded FerretDB rewrites whole documents
 * and a concurrent write may land on top of it.
 *
 * So whoever must be exact — every membership check — reads the document and then looks for
 * the line of the next version (an `_id` lookup, nearly always absent): a member who left is
 * out, and a member added is in, the moment the line is committed.
 */
import type { Types } from "mongoose";
import type { ConversationDoc, GroupStateDoc, MessageDoc, SystemDoc } from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";
import { stateMessageId } from "../../libs/keys.ts";

export const stateOf = (c: ConversationDoc): GroupStateDoc => ({
  rev: c.stateRev ?? 0,
  title: c.title ?? null,
  memberIds: c.memberIds,
  memberNames: c.memberNames,
});

export const stateOfLine = (s: SystemDoc): GroupStateDoc => ({
  rev: s.rev,
  title: s.title,
  memberIds: s.memberIds,
  memberNames: s.memberNames,
});

export const withState = (c: ConversationDoc, s: GroupStateDoc): ConversationDoc => ({
  ...c,
  title: s.title,
  memberIds: s.memberIds,
  memberNames: s.memberNames,
  stateRev: s.rev,
});

export const isMember = (s: { memberIds: Types.ObjectId[] }, userId: string) =>
  s.memberIds.some((m) => m.toHexString() === userId);

/** Versions looked for past the document's copy before giving up (the copy is at most a write behind). */
const MAX_AHEAD = 50;

/** The conversation with its newest name and members: the document, then any newer system line. */
export async function current(db: Pick<Db, "Message">, c: ConversationDoc): Promise<ConversationDoc> {
  // a direct chat never changes its members
  if (c.kind !== "group") return c;
  let doc = c;
  const id = c._id.toHexString();
  for (let i = 0; i < MAX_AHEAD; i++) {
    const line = await db.Message.collection.findOne<Pick<MessageDoc, "system">>(
      { _id: stateMessageId(id, (doc.stateRev ?? 0) + 1) },
      { projection: { system: 1 } },
    );
    if (!line?.system) return doc;
    doc = withState(doc, stateOfLine(line.system));
  }
  return doc;
}
