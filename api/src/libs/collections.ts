/**
 * The collections, their indexes, and the keys derived from documents.
 *
 * Every query the api makes is an equality on an indexed field, because that is the one kind of
 * filter the embedded FerretDB pushes down to its storage (ranges, `$in` and sorts are evaluated
 * in FerretDB itself, over every document the equality part returned). So where MongoDB would
 * use a range on a compound index, documents carry a key made for equality:
 *  - messages: `block` (conversation + seq / 100), so any seq range of up to 100 reads at most
 *    two blocks however long the conversation is, and `page` (conversation + seq / 25), so a
 *    history page of 50 reads 50 to 75 messages rather than 100 to 200;
 *  - users: a small `usernamePrefixes` document per prefix of each name, so a prefix search
 *    reads only the names that start with it (FerretDB decodes every document it returns, ~0.1 ms
 *    for a user document, so small documents matter);
 *  - conversations: the member names beside the member ids and a copy of the last message, so
 *    the conversation list needs no lookup of users or messages;
 *  - changes (versions of messages): `block` (conversation + rev / 100) for the catch-up, and
 *    `msgBlock` (the history block of the message changed), so a history page finds the
 *    versions of its messages with one more equality per block;
 *  - mentions and prefs: the member's `userId`, read with the conversation list.
 * The same definitions serve MongoDB (api/test/indexes.test.ts shows each query's plan).
 *
 * The documents the api reads and writes through the driver are typed here by hand: documents
 * written by older versions lack the newer optional fields, and readers default them.
 */
import { Schema, type Types, type InferSchemaType } from "mongoose";
import type { ChangeKind, SystemAction } from "@parley/contract";

export { BLOCK_SIZE, blockKey, blockOf, messageId, PAGE_SIZE, pageKey, pageOf, readId } from "./keys.ts";

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
    /** the message with seq = lastSeq as it is now (edits, deletes), written with it (LastMessageDoc) */
    lastMessage: { type: Schema.Types.Mixed, default: null },
    /**
     * member id → the highest seq they sent here: a sender has read up to their own message, so
     * a member's read position is the higher of this and their `reads` document (bookkeeping.ts)
     */
    lastSent: { type: Schema.Types.Mixed, default: () => ({}) },
    /** sort key of the conversation list: creation, then the newest message */
    lastActivityAt: { type: Date, required: true },
    createdAt: { type: Date, required: true },
    /**
     * version of title + memberIds + memberNames: the system line `stateMessageId(id, stateRev)`
     * made them (0: as created). Written after the line; readers that must be exact (membership)
     * look for a newer line first (conversations/state.ts)
     */
    stateRev: { type: Number, required: true, default: 0 },
    /** highest change rev known committed; raised after the fact like lastSeq, may lag */
    lastRev: { type: Number, required: true, default: 0 },
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
    /** page block: see pageKey (absent on messages written before page keys) */
    page: { type: String },
    senderId: { type: Schema.Types.ObjectId, required: true },
    /** "" once deleted (the body leaves the database) */
    body: { type: String, default: "" },
    clientId: { type: String, required: true },
    createdAt: { type: Date, required: true },
    kind: { type: String, enum: ["text", "system"], default: "text" },
    /** a system line's group change (SystemDoc) */
    system: { type: Schema.Types.Mixed, default: null },
    replyTo: { type: Number, default: null },
    mentions: { type: [Schema.Types.ObjectId], default: [] },
    deleted: { type: Boolean, default: false },
  },
  { versionKey: false, autoIndex: false },
);
// the seq arbiter: two api processes that pick the same next seq collide here, one retries
messageSchema.index({ conversationId: 1, seq: 1 }, { unique: true });
messageSchema.index({ block: 1 });
messageSchema.index({ page: 1 });

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

/** Versions of messages: one document per change, never rewritten except to remove a deleted body. */
const changeSchema = new Schema(
  {
    /** changeId(messageId, version): the arbiter between two changes made from one version */
    _id: { type: Schema.Types.ObjectId, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    rev: { type: Number, required: true },
    /** catch-up block: conversation + blockOf(rev) */
    block: { type: String, required: true },
    /** the history block of the message: blockKey(conversation, blockOf(seq)) */
    msgBlock: { type: String, required: true },
    messageId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
    version: { type: Number, required: true },
    /** what never changes of the message, copied so the catch-up reads changes only */
    senderId: { type: Schema.Types.ObjectId, required: true },
    clientId: { type: String, required: true },
    sentAt: { type: Date, required: true },
    replyTo: { type: Number, default: null },
    mentions: { type: [Schema.Types.ObjectId], default: [] },
    kind: { type: String, enum: ["edit", "delete", "reaction"], required: true },
    actorId: { type: Schema.Types.ObjectId, required: true },
    body: { type: String, default: "" },
    editedAt: { type: Date, default: null },
    deleted: { type: Boolean, default: false },
    reactions: { type: Schema.Types.Mixed, default: () => [] },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, autoIndex: false },
);
// the rev arbiter, as (conversationId, seq) is for messages
changeSchema.index({ conversationId: 1, rev: 1 }, { unique: true });
changeSchema.index({ block: 1 });
changeSchema.index({ msgBlock: 1 });

const mentionSchema = new Schema(
  {
    /** mentionId(conversation, user, seq) */
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
  },
  { versionKey: false, autoIndex: false },
);
mentionSchema.index({ userId: 1 });

const prefSchema = new Schema(
  {
    /** prefId(conversation, user) */
    _id: { type: String, required: true },
    userId: { type: Schema.Types.ObjectId, required: true },
    conversationId: { type: Schema.Types.ObjectId, required: true },
    muted: { type: Boolean, required: true, default: false },
  },
  { versionKey: false, autoIndex: false },
);
prefSchema.index({ userId: 1 });

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
  Change: changeSchema,
  Mention: mentionSchema,
  Pref: prefSchema,
  Meta: metaSchema,
} as const;

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type UsernamePrefixDoc = InferSchemaType<typeof usernamePrefixSchema>;

/** A user's prefix entries: "Alice" → a, al, ali, alic, alice, each with the name and id. */
export function prefixEntries(user: { _id: Types.ObjectId; username: string }): UsernamePrefixDoc[] {
  const lower = user.username.toLowerCase();
  return Array.from({ length: lower.length }, (_, i) => {
    const prefix = lower.slice(0, i + 1);
    return { _id: `${prefix}|${user._id.toHexString()}`, prefix, lower, username: user.username, userId: user._id };
  });
}
export type ReadDoc = InferSchemaType<typeof readSchema>;
export type MentionDoc = InferSchemaType<typeof mentionSchema>;
export type PrefDoc = InferSchemaType<typeof prefSchema>;
export type MetaDoc = InferSchemaType<typeof metaSchema>;

export type ReactionDoc = { emoji: string; userIds: Types.ObjectId[] };

/** A group change as a system line keeps it: what happened, and the group after it. */
export type SystemDoc = {
  action: SystemAction;
  actorId: Types.ObjectId;
  actorName: string;
  userIds: Types.ObjectId[];
  title: string | null;
  memberIds: Types.ObjectId[];
  memberNames: string[];
  rev: number;
};

/** A group's name and members at one version (the conversation's stateRev). */
export type GroupStateDoc = {
  rev: number;
  title: string | null;
  memberIds: Types.ObjectId[];
  memberNames: string[];
};

export type MessageDoc = {
  _id: Types.ObjectId;
  conversationId: Types.ObjectId;
  seq: number;
  block: string;
  /** absent on messages written before page keys (readers fall back to `block`) */
  page?: string;
  senderId: Types.ObjectId;
  body: string;
  clientId: string;
  createdAt: Date;
  /** absent on messages of schema v2: "text", no reply, no mention, not deleted */
  kind?: "text" | "system";
  system?: SystemDoc | null;
  replyTo?: number | null;
  mentions?: Types.ObjectId[];
  deleted?: boolean;
};

/** What changes of a message: each version carries all of it. */
export type MessageState = {
  body: string;
  editedAt: Date | null;
  deleted: boolean;
  reactions: ReactionDoc[];
  version: number;
};

export type ChangeDoc = MessageState & {
  _id: Types.ObjectId;
  conversationId: Types.ObjectId;
  rev: number;
  block: string;
  msgBlock: string;
  messageId: Types.ObjectId;
  seq: number;
  senderId: Types.ObjectId;
  clientId: string;
  sentAt: Date;
  replyTo: number | null;
  mentions: Types.ObjectId[];
  kind: ChangeKind;
  actorId: Types.ObjectId;
  createdAt: Date;
};

/** The conversation's copy of its last message, as it is now (a schema v2 copy lacks the state). */
export type LastMessageDoc = Omit<MessageDoc, "conversationId" | "block" | "page"> & Partial<MessageState>;

export type ConversationDoc = {
  _id: Types.ObjectId;
  kind: "direct" | "group";
  title: string | null;
  memberIds: Types.ObjectId[];
  memberNames: string[];
  directKey: string;
  lastSeq: number;
  lastMessage: LastMessageDoc | null;
  lastSent: Record<string, number>;
  lastActivityAt: Date;
  createdAt: Date;
  /** absent before schema v3 (migrations.ts sets it) */
  stateRev?: number;
  lastRev?: number;
};
