/** Database documents → the contract's Conversation and Message shapes, each member seeing their own read state. */
import type { Conversation, Message } from "@parley/contract";
import { readId, type ConversationDoc, type Db, type MessageDoc } from "../../libs/db.ts";

export const toMessage = (m: MessageDoc): Message => ({
  id: m._id.toHexString(),
  conversationId: m.conversationId.toHexString(),
  seq: m.seq,
  senderId: m.senderId.toHexString(),
  body: m.body,
  clientId: m.clientId,
  createdAt: m.createdAt.toISOString(),
});

type Shared = Omit<Conversation, "readSeq" | "unread">;

export const withReadSeq = (shared: Shared, readSeq: number): Conversation => {
  const seq = Math.min(readSeq, shared.lastSeq);
  return { ...shared, readSeq: seq, unread: Math.max(0, shared.lastSeq - seq) };
};

/** The member-independent part of each conversation: members with names, last message. Three queries in all. */
export async function sharedViews(db: Db, convs: ConversationDoc[]): Promise<Shared[]> {
  if (convs.length === 0) return [];
  const memberIds = [...new Set(convs.flatMap((c) => c.memberIds.map((id) => id.toHexString())))];
  const [users, lastMessages] = await Promise.all([
    db.User.find({ _id: { $in: memberIds } })
      .select({ username: 1 })
      .lean(),
    // one lookup by _id each: cheap on MongoDB and on FerretDB alike
    Promise.all(
      convs.map(
        (c): Promise<MessageDoc | null> =>
          c.lastMessageId ? db.Message.findById(c.lastMessageId).lean<MessageDoc>() : Promise.resolve(null),
      ),
    ),
  ]);
  const names = new Map(users.map((u) => [u._id.toHexString(), u.username]));
  const last = new Map(lastMessages.filter((m) => m !== null).map((m) => [m.conversationId.toHexString(), m]));
  return convs.map((c) => {
    const id = c._id.toHexString();
    const lastMessage = last.get(id);
    return {
      id,
      kind: c.kind as Conversation["kind"],
      title: c.title ?? null,
      members: c.memberIds.map((m) => ({ id: m.toHexString(), username: names.get(m.toHexString()) ?? "" })),
      lastMessage: lastMessage ? toMessage(lastMessage) : null,
      lastSeq: c.lastSeq,
      createdAt: c.createdAt.toISOString(),
    };
  });
}

/** Conversations as one member sees them (their readSeq and unread count). */
export async function viewsFor(db: Db, convs: ConversationDoc[], viewerId: string): Promise<Conversation[]> {
  const [shared, reads] = await Promise.all([
    sharedViews(db, convs),
    Promise.all(convs.map((c) => db.Read.findById(readId(c._id.toHexString(), viewerId)).select({ seq: 1 }).lean())),
  ]);
  return shared.map((s, i) => withReadSeq(s, reads[i]?.seq ?? 0));
}
