/**
 * Keys derived from documents, so that writes collide where they must (a unique index or `_id`
 * is the only atomic arbiter the embedded FerretDB has) and reads are equalities on an index.
 */
import { createHash } from "node:crypto";
import { Types } from "mongoose";

/** A 12-byte ObjectId from the sha256 of some parts: the same parts always give the same id. */
function derivedId(...parts: string[]): Types.ObjectId {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  return new Types.ObjectId(digest.subarray(0, 12).toString("hex"));
}

/**
 * A message's id is derived from (conversation, sender, clientId), so a retried send collides
 * with the original on `_id` and idempotency needs no read before the insert. It is still a
 * 12-byte ObjectId, as the contract requires.
 */
export const messageId = (conversationId: string, senderId: string, clientId: string): Types.ObjectId =>
  derivedId(conversationId, senderId, clientId);

/**
 * The system line that makes version `rev` of a group's name and member list. Two changes made
 * from the same version collide here: exactly one becomes version `rev`, the other learns of it
 * and is made again on top of it (conversations/state.ts). No real sender is called "state".
 */
export const stateMessageId = (conversationId: string, rev: number): Types.ObjectId =>
  messageId(conversationId, "state", `state-${rev}`);

/**
 * Version `version` of a message (its first change is version 1). Two changes made from the
 * same version collide here, so concurrent reactions of two people are applied one on top of
 * the other and neither is lost (messages/changes.ts).
 */
export const changeId = (messageId: Types.ObjectId, version: number): Types.ObjectId =>
  derivedId("change", messageId.toHexString(), String(version));

export const readId = (conversationId: string, userId: string) => `${conversationId}:${userId}`;
/** A member's own settings of a conversation (muted). */
export const prefId = readId;
/** One unread mention of a member: removed once their read position passes it. */
export const mentionId = (conversationId: string, userId: string, seq: number) => `${conversationId}:${userId}:${seq}`;

/** Messages (or changes) per block; at least the largest page, so a page spans at most two blocks. */
export const BLOCK_SIZE = 100;
/** Block number of a seq (or rev): 1–100 are block 0, 101–200 block 1, … */
export const blockOf = (n: number) => Math.floor((n - 1) / BLOCK_SIZE);
export const blockKey = (conversationId: string, block: number) => `${conversationId}:${block}`;

/**
 * Messages per page block: a finer key than the block, so a history page of 50 reads 50 to 75
 * messages instead of 100 to 200 (the embedded FerretDB decodes every document a query returns,
 * ~0.1 ms each). Messages written before page keys existed have none: readers fall back to
 * blocks (messages/history-reader.ts).
 */
export const PAGE_SIZE = 25;
/** Page number of a seq: 1–25 are page 0, 26–50 page 1, … */
export const pageOf = (seq: number) => Math.floor((seq - 1) / PAGE_SIZE);
export const pageKey = (conversationId: string, page: number) => `${conversationId}:p${page}`;
