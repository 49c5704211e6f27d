/**
 * WebSocket frames (JSON text) and the Redis events behind them. Types only plus tiny
 * helpers, so the browser bundle can import this file without the schema library.
 */
import type { Conversation, Id, Message } from "./schemas.ts";
import type { ErrorCode } from "./limits.ts";

// ---------- server → client ----------
export type ReadyFrame = { type: "ready"; userId: Id };
export type MessageFrame = { type: "message"; message: Message };
export type ConversationFrame = { type: "conversation"; conversation: Conversation };
export type ReadFrame = { type: "read"; conversationId: Id; userId: Id; seq: number };
export type TypingFrame = { type: "typing"; conversationId: Id; userId: Id };
export type PresenceFrame = { type: "presence"; userId: Id; online: boolean };
export type ErrorFrame = { type: "error"; code: ErrorCode; message: string };

export type ServerFrame =
  | ReadyFrame
  | MessageFrame
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

/** Channel of everything addressed to one user (messages, conversations, reads, typing). */
export const userChannel = (userId: string) => `parley:user:${userId}`;
/** Channel of one user's presence changes, followed by replicas whose users share a conversation. */
export const presenceChannel = (userId: string) => `parley:presence:${userId}`;
/** Redis keys of the presence registry (see realtime/src/presence). */
export const presenceKeys = {
  /** sorted set per user: member = replica id, score = expiry (ms) */
  user: (userId: string) => `parley:presence:u:${userId}`,
  /** one sorted set for all: member = `${userId}|${replicaId}`, score = expiry (ms) */
  deadlines: "parley:presence:deadlines",
} as const;
