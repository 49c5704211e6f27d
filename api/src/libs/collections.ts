/**
 * The collections, their indexes, and the keys derived from documents.
 *
 * Every query the api makes is an equality on an indexed field, because that is the one kind of
 * filter the embedded FerretDB pushes down to its storage (ranges, `$in` and sorts are evaluated
 * in FerretDB itself, over every document the equality part returned). So where MongoDB would
 * use a range on a compound index, documents carry a key made for equality:
 *  - messages: `block` (conversation + seq / 100), so a history page reads at most two blocks
 *    of 100 however long the conversation is;
 *  - users: a small `usernamePrefixes` document per prefix of each name, so a prefix search
 *    reads only the names that start with it (FerretDB decodes every document it returns, ~0.1 ms
 *    for a user document, so small documents matter);
 *  - conversations: the member names beside the member ids and a copy of the last message, so
 *    the conversation list needs no lookup of users or messages.
 * The same definitions serve MongoDB (api/test/indexes.test.ts shows each query's plan).
 */
import { createHash } from "node:crypto";
import { Schema, Types, type InferSchemaType } from "mongoose";

const userSchema = new Schema(
  {
    username: { type: String, required: true },
    /** lowercased username: uniqueness ignores case */
    usernameLower: { type: String, required: true },
    passwordHash: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false },
);
userSchema.index({ usernameLower: 1 }, { unique: true });

/** One per prefix of each username (see prefixEntries): what the user search reads. */
const usernamePrefixSchema = new Schema(
  {
    /** `${prefix}|${userId}`: written twice, stored once */
    _id: { type: String, required: true },
    prefix: { type: String, required: true },
    /** the lowercased name, for the order of results */
    lower: { type: String, required: true },
    username: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
  },
  { versionKey: false, autoIndex: false },
);
usernamePrefixSchema.index({ prefix: 1, lower: 1 });

const lastMessageSchema = new Schema(
  {
    _id: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
    senderId: { type: Schema.Types.ObjectId, required: true },
    body: { type: String, required: true },
    clientId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);

const conversationSchema = new Schema(
  {
    kind: { type: String, enum: ["direct", "group"], required: true },
    title: { type: String, default: null },
    memberIds: { type: [Schema.Types.ObjectId], required: true },
    /** usernames of memberIds, same order (usernames never change) */
    memberNames: { type: [String], required: true },
    /**
     * Sorted member ids joined for a direct chat, so "create twice" races into a unique-index
     * conflict; groups get `group:<id>` so the index needs neither sparse nor partial support.
     */
    directKey: { type: String, required: true },
    /** highest seq known to be committed; raised after the fact (see bookkeeping.ts), may lag */
    lastSeq: { type: Number, required: true, default: 0 },
    /** the message with seq = lastSeq, written together with it */
    lastMessage: { type: lastMessageSchema, default: null },
    /**
     * member id → the highest seq they sent here: a sender has read up to their own message, so
     * a member's read position is the higher of this and their `reads` document (bookkeeping.ts)
     */
    lastSent: { type: Schema.Types.Mixed, default: () => ({}) },
    /** sort key of the conversation list: creation, then the newest message */
    lastActivityAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false },
);
conversationSchema.index({ directKey: 1 }, { unique: true });
conversationSchema.index({ memberIds: 1, lastActivityAt: -1 });

const messageSchema = new Schema(
  {
    /** derived from (conversation, sender, clientId): see messageId */
    _id: { type: Schema.Types.ObjectId, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
    /** history block: see blockKey */
    block: { type: String, required: true },
    senderId: { type: Schema.Types.ObjectId, required: true },
    body: { type: String, required: true },
    clientId: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false },
);
// the seq arbiter: two api processes that pick the same next seq collide here, one retries
messageSchema.index({ conversationId: 1, seq: 1 }, { unique: true });
messageSchema.index({ block: 1 });

const readSchema = new Schema(
  {
    /** `${conversationId}:${userId}` (readId): one position per member, written by _id */
    _id: { type: String, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true, default: 0 },
  },
  { versionKey: false, autoIndex: false },
);
readSchema.index({ userId: 1, conversationId: 1 });

/** The schema version of the documents; migrations.ts brings older databases up to it. */
const metaSchema = new Schema(
  { _id: { type: String, required: true }, version: { type: Number, required: true } },
  { versionKey: false, autoIndex: false },
);

export const schemas = {
  User: userSchema,
  UsernamePrefix: usernamePrefixSchema,
  Conversation: conversationSchema,
  Message: messageSchema,
  Read: readSchema,
  Meta: metaSchema,
} as const;

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type UsernamePrefixDoc = InferSchemaType<typeof usernamePrefixSchema>;
export type ConversationDoc = InferSchemaType<typeof conversationSchema> & { _id: Types.ObjectId };
export type LastMessageDoc = InferSchemaType<typeof lastMessageSchema> & { _id: Types.ObjectId };
export type MessageDoc = InferSchemaType<typeof messageSchema> & { _id: Types.ObjectId };
export type ReadDoc = InferSchemaType<typeof readSchema>;
export type MetaDoc = InferSchemaType<typeof metaSchema>;

/**
 * A message's id is derived from (conversation, sender, clientId), so a retried send collides
 * with the original on `_id` and idempotency needs no read before the insert. It is still a
 * 12-byte ObjectId, as the contract requires.
 */
export function messageId(conversationId: string, senderId: string, clientId: string): Types.ObjectId {
  const digest = createHash("sha256").update(`${conversationId}\u0000${senderId}\u0000${clientId}`).digest();
  return new Types.ObjectId(digest.subarray(0, 12).toString("hex"));
}

export const readId = (conversationId: string, userId: string) => `${conversationId}:${userId}`;

/** Messages per history block; at least the largest page, so a page spans at most two blocks. */
export const BLOCK_SIZE = 100;
/** Block number of a seq: seqs 1–100 are block 0, 101–200 block 1, … */
export const blockOf = (seq: number) => Math.floor((seq - 1) / BLOCK_SIZE);
export const blockKey = (conversationId: string, block: number) => `${conversationId}:${block}`;

/** A user's prefix entries: "Alice" → a, al, ali, alic, alice, each with the name and id. */
export function prefixEntries(user: { _id: Types.ObjectId; username: string }): UsernamePrefixDoc[] {
  const lower = user.username.toLowerCase();
  return Array.from({ length: lower.length }, (_, i) => {
    const prefix = lower.slice(0, i + 1);
    return { _id: `${prefix}|${user._id.toHexString()}`, prefix, lower, username: user.username, userId: user._id };
  });
}
