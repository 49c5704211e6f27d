/**
 * Messages committed but never recorded on their conversation nor, perhaps, published: their api
 * process stopped between the insert and what follows it. Found when they are read (a history
 * page, a catch-up), published to the members and recorded then. Candidates come from what the
 * caller knows of lastSeq (the conversation cache); only those above the stored lastSeq, read
 * fresh, are orphans, so a cache that lags never makes a message look orphaned.
 */
import type { MessageDoc } from "../../libs/collections.ts";
import type { ConversationDoc } from "../../libs/db.ts";
import type { Deps } from "../../libs/deps.ts";
import { sentState, toMessage } from "../conversations/views.ts";

export async function repairOrphans(
  deps: Pick<Deps, "db" | "bookkeeper" | "publisher" | "metrics" | "log">,
  conv: ConversationDoc,
  read: MessageDoc[],
): Promise<void> {
  const id = conv._id.toHexString();
  const candidates = deps.bookkeeper.orphanCandidates(id, conv.lastSeq, read);
  if (candidates.length === 0) return;
  const stored = await deps.db.Conversation.collection.findOne({ _id: conv._id }, { projection: { lastSeq: 1 } });
  const orphans = candidates.filter((m) => m.seq > (stored?.lastSeq ?? 0));
  if (orphans.length === 0) return;
  deps.log.warn(
    { conversationId: id, seqs: orphans.map((m) => m.seq) },
    "found committed messages never recorded: publishing and recording them",
  );
  deps.metrics.orphansRepublished.inc(orphans.length);
  deps.bookkeeper.recordOrphans(id, orphans);
  const members = conv.memberIds.map((m) => m.toHexString());
  for (const doc of orphans) {
    await deps.publisher.toUsers(members, { type: "message", message: toMessage({ ...doc, ...sentState(doc) }) });
  }
}
