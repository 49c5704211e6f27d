/**
 * Conversations: direct (exactly one other member, at most one per pair) and group (two or
 * more others). The creator is always a member. Anything you are not a member of is 404.
 */
import type { Conversation, CreateConversationBody } from "@parley/contract";
import { Types } from "mongoose";
import type { Deps } from "../../libs/deps.ts";
import { isDuplicateKey, oid, type ConversationDoc } from "../../libs/db.ts";
import { ApiError, invalid, notFound } from "../../libs/errors.ts";
import { sharedViews, viewsFor, withReadSeq } from "./views.ts";

/** The conversation if `userId` is a member; otherwise 404, the same as when it does not exist. */
export async function memberConversation(
  { db }: Pick<Deps, "db">,
  conversationId: string,
  userId: string,
): Promise<ConversationDoc> {
  // by _id alone, then membership in code: FerretDB scans the collection for any other filter
  const conv = await db.Conversation.findById(oid(conversationId)).lean();
  if (!conv?.memberIds.some((m) => m.toHexString() === userId)) throw notFound("no such conversation");
  return conv;
}

export async function create(
  deps: Pick<Deps, "db" | "publisher">,
  creatorId: string,
  { memberIds, title }: CreateConversationBody,
): Promise<{ conversation: Conversation; created: boolean }> {
  const { db } = deps;
  const others = [...new Set(memberIds)].filter((id) => id !== creatorId);
  if (others.length === 0)
    throw invalid("add at least one member other than yourself", [{ path: "/memberIds", message: "only yourself" }]);
  const found = await db.User.countDocuments({ _id: { $in: others.map(oid) } });
  if (found !== others.length) throw notFound("unknown member");

  const members = [creatorId, ...others].map(oid);
  const now = new Date();
  if (others.length === 1) {
    // race-safe "create once": the pair's key is unique, so the loser of a race reads the winner's
    const directKey = [creatorId, others[0]!].sort().join(":");
    const existing = await db.Conversation.findOne({ directKey }).lean();
    if (existing) return { conversation: await viewOf(deps, existing, creatorId), created: false };
    try {
      const doc = await db.Conversation.create({
        kind: "direct",
        title: null,
        memberIds: members,
        directKey,
        lastSeq: 0,
        lastActivityAt: now,
        createdAt: now,
      });
      return { conversation: await announce(deps, doc.toObject()), created: true };
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const winner = await db.Conversation.findOne({ directKey }).lean();
      if (!winner) throw new ApiError("unavailable", "could not create the conversation, try again");
      return { conversation: await viewOf(deps, winner, creatorId), created: false };
    }
  }
  const _id = new Types.ObjectId();
  const cleanTitle = title?.trim() || null;
  const doc = await db.Conversation.create({
    _id,
    kind: "group",
    title: cleanTitle,
    memberIds: members,
    directKey: `group:${_id.toHexString()}`,
    lastSeq: 0,
    lastActivityAt: now,
    createdAt: now,
  });
  return { conversation: await announce(deps, doc.toObject()), created: true };
}

/** Publishes the new conversation to every member (their own view), returns the creator's view. */
async function announce(deps: Pick<Deps, "db" | "publisher">, conv: ConversationDoc): Promise<Conversation> {
  const committedAt = Date.now();
  const [shared] = await sharedViews(deps.db, [conv]);
  const view = withReadSeq(shared!, 0);
  await deps.publisher.each(
    conv.memberIds.map((m) => ({ userId: m.toHexString(), frame: { type: "conversation", conversation: view } })),
    committedAt,
  );
  return view;
}

async function viewOf({ db }: Pick<Deps, "db">, conv: ConversationDoc, viewerId: string): Promise<Conversation> {
  const [view] = await viewsFor(db, [conv], viewerId);
  return view!;
}

/** Newest activity first (creation, then each message). */
export async function list({ db }: Pick<Deps, "db">, userId: string): Promise<Conversation[]> {
  const convs = await db.Conversation.find({ memberIds: oid(userId) })
    .sort({ lastActivityAt: -1, _id: -1 })
    .limit(500)
    .lean();
  return viewsFor(db, convs, userId);
}

export async function get(deps: Pick<Deps, "db">, conversationId: string, userId: string): Promise<Conversation> {
  return viewOf(deps, await memberConversation(deps, conversationId, userId), userId);
}
