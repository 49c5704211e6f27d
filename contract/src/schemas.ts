/**
 * THE wire contract: request, response and frame schemas (TypeBox via Elysia's `t`).
 * The api validates with them and builds its OpenAPI document from them; realtime and the
 * frontend use the same types. Change a shape here, and everything else follows.
 */
import { t } from "elysia";
import {
  CHANGES_PAGE_MAX,
  CLIENT_ID_MAX,
  CONVERSATIONS_PAGE_MAX,
  ERROR_CODES,
  GROUP_MEMBERS_MAX,
  ID_PATTERN,
  PAGE_MAX,
  PASSWORD_MAX,
  REACTION_MAX,
  PASSWORD_MIN,
  TITLE_MAX,
  USERNAME_MAX,
  USERNAME_MIN,
  USERNAME_PATTERN,
  USERS_SEARCH_MAX,
} from "./limits.ts";

export const Id = t.String({ pattern: ID_PATTERN, description: "object id (24 hex)" });
export type Id = typeof Id.static;

const IsoDate = t.String({ format: "date-time" });

/** Text a person types: anything but NUL, which the database cannot store. */
const NO_NUL = "^[^\\u0000]*$";

// ---------- resources ----------
export const User = t.Object({
  id: Id,
  username: t.String(),
  createdAt: IsoDate,
});
export type User = typeof User.static;

/** `online` only for people who share a conversation with the one asking: presence is not public. */
export const UserSummary = t.Object({
  id: Id,
  username: t.String(),
  online: t.Optional(t.Boolean()),
});
export type UserSummary = typeof UserSummary.static;

export const Member = t.Object({ id: Id, username: t.String() });
export type Member = typeof Member.static;

/** Who reacted with one emoji to a message, in the order they did. */
export const Reaction = t.Object({ emoji: t.String(), userIds: t.Array(Id) });
export type Reaction = typeof Reaction.static;

export const SystemAction = t.Union([t.Literal("renamed"), t.Literal("added"), t.Literal("left")]);
export type SystemAction = typeof SystemAction.static;

/**
 * What a system line records: a change of a group's name or members, made by `actorId`, and
 * the group as it is after it. `rev` is the version of the name and member list it made (the
 * conversation's `stateRev`), so a client never lets an older line undo a newer one.
 */
export const SystemEvent = t.Object({
  action: SystemAction,
  actorId: Id,
  /** the actor's name (one who left is no longer among the members) */
  actorName: t.String(),
  /** who was added ("added"); empty otherwise */
  userIds: t.Array(Id),
  title: t.Union([t.String(), t.Null()]),
  members: t.Array(Member),
  rev: t.Integer({ minimum: 1 }),
});
export type SystemEvent = typeof SystemEvent.static;

export const MessageKind = t.Union([t.Literal("text"), t.Literal("system")]);
export type MessageKind = typeof MessageKind.static;

/**
 * A message as it is now. `version` counts its changes (0: as sent): a client keeps the copy with
 * the highest version. A deleted message keeps its place (seq) with an empty body.
 */
export const Message = t.Object({
  id: Id,
  conversationId: Id,
  seq: t.Integer({ minimum: 1 }),
  senderId: Id,
  body: t.String(),
  clientId: t.String(),
  createdAt: IsoDate,
  kind: MessageKind,
  /** the group change a system line records; null for a text message */
  system: t.Union([SystemEvent, t.Null()]),
  /** the seq of the message this one answers */
  replyTo: t.Union([t.Integer({ minimum: 1 }), t.Null()]),
  /** members named with @username when it was sent */
  mentions: t.Array(Id),
  editedAt: t.Union([IsoDate, t.Null()]),
  deleted: t.Boolean(),
  reactions: t.Array(Reaction),
  version: t.Integer({ minimum: 0 }),
});
export type Message = typeof Message.static;

export const ChangeKind = t.Union([t.Literal("edit"), t.Literal("delete"), t.Literal("reaction")]);
export type ChangeKind = typeof ChangeKind.static;

/**
 * One change to an existing message, numbered `rev` 1, 2, 3… per conversation with no gap (like
 * seq for messages), carrying the whole message as the change left it.
 */
export const Change = t.Object({
  conversationId: Id,
  rev: t.Integer({ minimum: 1 }),
  kind: ChangeKind,
  actorId: Id,
  message: Message,
  createdAt: IsoDate,
});
export type Change = typeof Change.static;

export const ConversationKind = t.Union([t.Literal("direct"), t.Literal("group")]);
export type ConversationKind = typeof ConversationKind.static;

export const Conversation = t.Object({
  id: Id,
  kind: ConversationKind,
  title: t.Union([t.String(), t.Null()]),
  members: t.Array(Member),
  lastMessage: t.Union([Message, t.Null()]),
  lastSeq: t.Integer({ minimum: 0 }),
  readSeq: t.Integer({ minimum: 0 }),
  unread: t.Integer({ minimum: 0 }),
  /** unread messages that mention the viewer (counted apart from `unread`, which includes them) */
  mentions: t.Integer({ minimum: 0 }),
  /** the viewer muted it: no notification, no bold, still counted */
  muted: t.Boolean(),
  /** version of the title and member list (0 as created; each system line raises it) */
  stateRev: t.Integer({ minimum: 0 }),
  createdAt: IsoDate,
});
export type Conversation = typeof Conversation.static;

export const ErrorBody = t.Object({
  error: t.Object({
    code: t.Union(ERROR_CODES.map((c) => t.Literal(c))),
    message: t.String(),
    details: t.Optional(t.Unknown()),
  }),
});
export type ErrorBody = typeof ErrorBody.static;

// ---------- requests ----------
export const Credentials = t.Object(
  {
    username: t.String({ minLength: USERNAME_MIN, maxLength: USERNAME_MAX, pattern: USERNAME_PATTERN }),
    password: t.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, pattern: NO_NUL }),
  },
  { additionalProperties: false },
);
export type Credentials = typeof Credentials.static;

/** Login accepts any string so that a malformed username is "wrong credentials" (401), not a hint. */
export const LoginBody = t.Object(
  {
    username: t.String({ minLength: 1, maxLength: 200, pattern: NO_NUL }),
    password: t.String({ minLength: 1, maxLength: 1024, pattern: NO_NUL }),
  },
  { additionalProperties: false },
);
export type LoginBody = typeof LoginBody.static;

export const UsersQuery = t.Object({
  q: t.Optional(t.String({ maxLength: USERNAME_MAX, pattern: NO_NUL })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: USERS_SEARCH_MAX, default: 20 })),
});
export type UsersQuery = typeof UsersQuery.static;

export const CreateConversationBody = t.Object(
  {
    memberIds: t.Array(Id, { minItems: 1, maxItems: GROUP_MEMBERS_MAX, uniqueItems: true }),
    title: t.Optional(t.String({ maxLength: TITLE_MAX, pattern: NO_NUL })),
  },
  { additionalProperties: false },
);
export type CreateConversationBody = typeof CreateConversationBody.static;

/** Where the next page of the conversation list starts: opaque to clients, passed back as given. */
export const ConversationCursor = t.String({ pattern: "^[0-9]{1,15}_[0-9a-f]{24}$", description: "opaque cursor" });

export const ConversationsQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: CONVERSATIONS_PAGE_MAX })),
  cursor: t.Optional(ConversationCursor),
});
export type ConversationsQuery = typeof ConversationsQuery.static;

/** GET /api/conversations/members: how many of the most recent conversations (one page at most). */
export const ConversationMembersQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: CONVERSATIONS_PAGE_MAX })),
});
export type ConversationMembersQuery = typeof ConversationMembersQuery.static;

export const ConversationParams = t.Object({ id: Id });
export type ConversationParams = typeof ConversationParams.static;

export const MessagesQuery = t.Object({
  after: t.Optional(t.Integer({ minimum: 0 })),
  before: t.Optional(t.Integer({ minimum: 1 })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: PAGE_MAX })),
});
export type MessagesQuery = typeof MessagesQuery.static;

export const SendMessageBody = t.Object(
  {
    // Length is checked after trimming by the service: over MESSAGE_BODY_MAX is 413, empty is 422.
    body: t.String({ pattern: NO_NUL }),
    clientId: t.String({ minLength: 1, maxLength: CLIENT_ID_MAX, pattern: "^[A-Za-z0-9_-]+$" }),
    /** the seq of a message of this conversation this one answers */
    replyTo: t.Optional(t.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type SendMessageBody = typeof SendMessageBody.static;

export const MessageParams = t.Object({ id: Id, seq: t.Integer({ minimum: 1 }) });
export type MessageParams = typeof MessageParams.static;

/** Length is checked after trimming by the service, as for a send. */
export const EditMessageBody = t.Object({ body: t.String() }, { additionalProperties: false });
export type EditMessageBody = typeof EditMessageBody.static;

/** Sets the caller's reaction with one emoji on (true) or off (false); repeating it changes nothing. */
export const ReactionBody = t.Object(
  { emoji: t.String({ minLength: 1, maxLength: REACTION_MAX }), on: t.Boolean() },
  { additionalProperties: false },
);
export type ReactionBody = typeof ReactionBody.static;

export const ChangesQuery = t.Object({
  /** the highest rev the client has: the answer starts right after it */
  since: t.Optional(t.Integer({ minimum: 0 })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: CHANGES_PAGE_MAX })),
});
export type ChangesQuery = typeof ChangesQuery.static;

/** A group's new name (trimmed; empty removes it). */
export const RenameBody = t.Object({ title: t.String({ maxLength: TITLE_MAX }) }, { additionalProperties: false });
export type RenameBody = typeof RenameBody.static;

export const AddMembersBody = t.Object(
  { memberIds: t.Array(Id, { minItems: 1, maxItems: GROUP_MEMBERS_MAX, uniqueItems: true }) },
  { additionalProperties: false },
);
export type AddMembersBody = typeof AddMembersBody.static;

export const MuteBody = t.Object({ muted: t.Boolean() }, { additionalProperties: false });
export type MuteBody = typeof MuteBody.static;

export const ReadBody = t.Object({ seq: t.Integer({ minimum: 0 }) }, { additionalProperties: false });
export type ReadBody = typeof ReadBody.static;

// ---------- responses ----------
export const AuthResponse = t.Object({ user: User, token: t.String() });
export type AuthResponse = typeof AuthResponse.static;
export const MeResponse = t.Object({ user: User });
export type MeResponse = typeof MeResponse.static;
export const UsersResponse = t.Object({ users: t.Array(UserSummary) });
export type UsersResponse = typeof UsersResponse.static;
export const ConversationResponse = t.Object({ conversation: Conversation });
export type ConversationResponse = typeof ConversationResponse.static;
/** One page, newest activity first; `nextCursor` asks for the page after it (null: this was the last). */
export const ConversationsResponse = t.Object({
  conversations: t.Array(Conversation),
  nextCursor: t.Union([ConversationCursor, t.Null()]),
});
export type ConversationsResponse = typeof ConversationsResponse.static;
/**
 * Who is in each of the caller's most recent conversations, newest activity first, and the
 * version of each member list (`stateRev`, as in Conversation): what realtime follows presence
 * for and knows membership from, without the list's unread counts, last messages and settings.
 */
export const ConversationMembers = t.Object({
  id: Id,
  memberIds: t.Array(Id),
  stateRev: t.Integer({ minimum: 0 }),
});
export type ConversationMembers = typeof ConversationMembers.static;
export const ConversationMembersResponse = t.Object({ conversations: t.Array(ConversationMembers) });
export type ConversationMembersResponse = typeof ConversationMembersResponse.static;
/** `rev`: the conversation's change head when the page was read; the page shows every change up to it. */
export const MessagesPage = t.Object({
  messages: t.Array(Message),
  hasMore: t.Boolean(),
  rev: t.Integer({ minimum: 0 }),
});
export type MessagesPage = typeof MessagesPage.static;
export const MessageResponse = t.Object({ message: Message });
export type MessageResponse = typeof MessageResponse.static;
/** `rev`: the highest rev this answer brings the client to (ask again with `since=rev` while hasMore). */
export const ChangesPage = t.Object({ changes: t.Array(Change), hasMore: t.Boolean(), rev: t.Integer({ minimum: 0 }) });
export type ChangesPage = typeof ChangesPage.static;
