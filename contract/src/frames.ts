/**
 * WebSocket frames (JSON text) and the Redis protocol behind them: channels, the event
 * envelope, presence keys and the "online" rule. Types plus small helpers with no runtime
 * dependency, so the browser bundle can import this file without the schema library.
 */
import type { Change, Conversation, Id, Message } from "./schemas.ts";
import type { ErrorCode } from "./limits.ts";
import type { Marks } from "./marks.ts";

// ---------- server → client ----------
/**
 * The socket listens. `marks`: what the user was last sent per publishing api process (marks.ts);
 * null when this replica cannot tell (a Redis Cluster, Redis did not answer): catch up.
 */
export type ReadyFrame = { type: "ready"; userId: Id; marks?: Marks | null };
/**
 * `mark` (`<publisher>:<n>`, marks.ts) is set on every frame the api publishes: a client keeps
 * the newest it saw per publisher, so `ready` can tell it whether it missed anything.
 */
type Marked = { mark?: string };
/** a new message; a system line (`message.kind === "system"`) also says who the group's members are now */
export type MessageFrame = { type: "message"; message: Message } & Marked;
/** an existing message was edited, deleted or reacted to (`change.rev`: see docs/architecture.md) */
export type ChangeFrame = { type: "change"; change: Change } & Marked;
/** the user was added to a conversation, or their own view of one changed (muted) */
export type ConversationFrame = { type: "conversation"; conversation: Conversation } & Marked;
export type ReadFrame = { type: "read"; conversationId: Id; userId: Id; seq: number } & Marked;
export type TypingFrame = { type: "typing"; conversationId: Id; userId: Id };
export type PresenceFrame = { type: "presence"; userId: Id; online: boolean };
export type ErrorFrame = { type: "error"; code: ErrorCode; message: string };

export type ServerFrame =
  | ReadyFrame
  | MessageFrame
  | ChangeFrame
  | ConversationFrame
  | ReadFrame
  | TypingFrame
  | PresenceFrame
  | ErrorFrame;

// ---------- client → server ----------
export type ClientTypingFrame = { type: "typing"; conversationId: Id };
export type ClientFrame = ClientTypingFrame;

// ---------- Redis (api/realtime → realtime) ----------
/**
 * What travels on a Redis channel: the frame to deliver as-is, and when the change was
 * committed (ms since epoch), so realtime can measure fan-out latency.
 */
export type FanoutEvent = { frame: ServerFrame; committedAt: number };

const USER_CHANNEL = "parley:user:";
const PRESENCE_CHANNEL = "parley:presence:";

/** Prefix of a replica's channel (replicaChannel), to which kit/route publishes its users' events. */
export const REPLICA_CHANNEL = "parley:replica:";

/**
 * Channel of everything addressed to one user (messages, conversations, reads, typing) on a
 * Redis Cluster; on one server events go to the replicas holding the user's sockets instead
 * (replicaChannel, kit/route).
 */
export const userChannel = (userId: string) => `${USER_CHANNEL}${userId}`;
/** Channel of the events for one realtime replica's users: `<id>,<id>…\n<FanoutEvent>` (readRoutedEvent). */
export const replicaChannel = (replicaId: string) => `${REPLICA_CHANNEL}${replicaId}`;
/** Channel of one user's presence changes, followed by replicas whose users share a conversation. */
export const presenceChannel = (userId: string) => `${PRESENCE_CHANNEL}${userId}`;

/** Whose channel this is: the reverse of userChannel and presenceChannel; null for any other. */
export function channelOwner(channel: string): { kind: "user" | "presence"; id: string } | null {
  if (channel.startsWith(USER_CHANNEL)) return { kind: "user", id: channel.slice(USER_CHANNEL.length) };
  if (channel.startsWith(PRESENCE_CHANNEL)) return { kind: "presence", id: channel.slice(PRESENCE_CHANNEL.length) };
  return null;
}

/** A message on a replica's channel: the recipients it names, and the FanoutEvent text. Null when malformed. */
export function readRoutedEvent(raw: string): { userIds: string[]; event: string } | null {
  const cut = raw.indexOf("\n");
  if (cut <= 0) return null;
  return { userIds: raw.slice(0, cut).split(","), event: raw.slice(cut + 1) };
}

/**
 * Frames realtime must read, not only pass on: they say who is in a conversation (a conversation,
 * a group's system line) or are checked against it (typing). Every other frame is written to the
 * sockets as the text it was published in.
 */
export const readByRealtime = (frame: ServerFrame): boolean =>
  frame.type === "conversation" ||
  frame.type === "typing" ||
  (frame.type === "message" && frame.message.system !== null);

/**
 * The text published on a channel: a FanoutEvent (any JSON reader sees `frame` and `committedAt`)
 * written with a fixed head, `{"committedAt":…,"type":"…","read":…,"frame":`, so that realtime
 * takes the frame's text and type without parsing the event or serializing the frame again
 * (serialized once, in the publisher). See readFanoutEvent.
 */
export const encodeFanoutEvent = (frame: ServerFrame, committedAt: number): string =>
  `{"committedAt":${JSON.stringify(committedAt)},"type":${JSON.stringify(frame.type)},"read":${readByRealtime(frame)},"frame":${JSON.stringify(frame)}}`;

/** A published event as realtime delivers it: the frame's text as published, and the frame when it must be read. */
export type FanoutDelivery = {
  type: ServerFrame["type"];
  committedAt: number;
  /** the frame's JSON text, written to sockets as-is */
  text: string;
  /** the frame itself, for the frames realtime reads (readByRealtime); null for the others */
  frame: ServerFrame | null;
};

const FAST_HEAD = /^\{"committedAt":(\d+(?:\.\d+)?),"type":"([a-z_]+)","read":(true|false),"frame":\{/;

/**
 * A published text read for delivery. Events of encodeFanoutEvent's shape are sliced, not parsed
 * (their frame is parsed only when realtime must read it); any other FanoutEvent JSON (a
 * publisher of an older version during an upgrade, a test) is parsed. Null when it holds no frame.
 */
export function readFanoutEvent(raw: string): FanoutDelivery | null {
  const head = FAST_HEAD.exec(raw);
  if (head && raw.endsWith("}}")) {
    const text = raw.slice(head[0].length - 1, -1);
    const read = head[3] === "true";
    let frame: ServerFrame | null = null;
    if (read) {
      try {
        frame = JSON.parse(text) as ServerFrame;
      } catch {
        return null;
      }
    }
    return { type: head[2] as ServerFrame["type"], committedAt: Number(head[1]), text, frame };
  }
  const event = parseFanoutEvent(raw);
  if (!event) return null;
  return {
    type: event.frame.type,
    committedAt: event.committedAt,
    text: JSON.stringify(event.frame),
    frame: event.frame,
  };
}

/**
 * A published text read back: null unless it holds a frame with a type. An event without
 * `committedAt` counts as committed now (latency 0) rather than being dropped.
 */
export function parseFanoutEvent(raw: string): FanoutEvent | null {
  let event: Partial<FanoutEvent> | null;
  try {
    event = JSON.parse(raw) as Partial<FanoutEvent> | null;
  } catch {
    return null;
  }
  const frame = event?.frame;
  if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return null;
  return { frame, committedAt: typeof event?.committedAt === "number" ? event.committedAt : Date.now() };
}

/** Redis keys of the presence registry (see realtime/src/presence). */
export const presenceKeys = {
  /**
   * sorted set per user: member = replica id, score = expiry (ms). Its `{hash tag}` is the
   * user's presence channel, so on a Redis Cluster the key and the channel share a slot and the
   * presence scripts can change one and announce on the other in one step.
   */
  user: (userId: string) => `{${presenceChannel(userId)}}:replicas`,
  /**
   * string per user: the replica ids of their entries, comma-separated, written by every
   * presence script beside the set (same hash tag) and read by the publishers to route events
   * to replicas (kit/route: one MGET for all the recipients of an event)
   */
  route: (userId: string) => `{${presenceChannel(userId)}}:route`,
  /** one sorted set for all: member = `${userId}|${replicaId}`, score = expiry (ms) */
  deadlines: "parley:presence:deadlines",
} as const;

/** What reading presence needs of Redis: pipelines (kit/pipeline's SlotPipeline, or an ioredis client). */
export type PresenceReader = {
  pipeline(): {
    zcount(key: string, min: number, max: string): unknown;
    exec(): Promise<[Error | null, unknown][] | null>;
  };
};

/**
 * The "online" rule, written once for the api and realtime: a user is online while at least one
 * replica entry has not expired, `ZCOUNT presenceKeys.user(u) now +inf > 0`. One pipeline for
 * all (one per node on a cluster); a user whose count Redis answered with an error is left out
 * of the map.
 */
export async function readOnline(redis: PresenceReader, userIds: readonly string[]): Promise<Map<string, boolean>> {
  const online = new Map<string, boolean>();
  if (userIds.length === 0) return online;
  const now = Date.now();
  const pipe = redis.pipeline();
  for (const id of userIds) pipe.zcount(presenceKeys.user(id), now, "+inf");
  const replies = (await pipe.exec()) ?? [];
  userIds.forEach((id, i) => {
    const [err, count] = replies[i] ?? [];
    if (!err) online.set(id, Number(count) > 0);
  });
  return online;
}
