/**
 * Limits of the public contract, as plain values with no runtime dependency so that the
 * browser bundle can import them without pulling in the schema library.
 */
/** Ids are MongoDB ObjectIds written as 24 lowercase hex characters. */
export const ID_PATTERN = "^[0-9a-f]{24}$";
const ID = new RegExp(ID_PATTERN);
export const isId = (value: unknown): value is string => typeof value === "string" && ID.test(value);

export const USERNAME_MIN = 3;
export const USERNAME_MAX = 32;
/** Letters are accepted in either case; uniqueness ignores case (see users model). */
export const USERNAME_PATTERN = "^[A-Za-z0-9_.-]{3,32}$";
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
export const MESSAGE_BODY_MAX = 4000;
export const CLIENT_ID_MAX = 64;
export const TITLE_MAX = 100;
export const GROUP_MEMBERS_MAX = 100;
export const PAGE_DEFAULT = 50;
export const PAGE_MAX = 100;
/**
 * A read that may wait behind the others (any value): the client's catch-up after a reconnect
 * or a gap, which thousands of clients send together when a replica dies. Reads without it (a
 * person opening a conversation, searching) go first; writes never wait (the api's
 * DB_READS_AT_ONCE, realtime's proxy).
 */
export const BACKGROUND_READ_HEADER = "x-parley-background";
export const USERS_SEARCH_MAX = 50;
/** Conversations per page of `GET /api/conversations` (the client follows `nextCursor` for more). */
export const CONVERSATIONS_PAGE_DEFAULT = 50;
export const CONVERSATIONS_PAGE_MAX = 100;
/** Deepest nesting of arrays and objects in any JSON the servers accept (bodies and socket frames). */
export const JSON_DEPTH_MAX = 32;
/** Changes (edits, deletes, reactions) per page of `GET …/changes`. */
export const CHANGES_PAGE_MAX = 100;
/** Versions a message may go through (edits and reactions); each page read folds them, so they are bounded. */
export const MESSAGE_VERSIONS_MAX = 200;
/** The reactions offered with one click; any other single emoji is accepted too. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"] as const;
/** Longest reaction in UTF-16 units (a family or flag emoji is a dozen or so). */
export const REACTION_MAX = 32;

const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
const segmenter = typeof Intl !== "undefined" && "Segmenter" in Intl ? new Intl.Segmenter() : undefined;

/**
 * One emoji: a single grapheme (what a reader sees as one character) with a pictograph, a flag
 * or a keycap in it. "👍🏽", "🇫🇷", "1️⃣" and "👩‍👩‍👧" are one; "ab", "👍👍" and ":)" are not.
 */
export function isSingleEmoji(value: string): boolean {
  if (!value || value.length > REACTION_MAX || !PICTOGRAPHIC.test(value)) return false;
  if (!segmenter) return [...value].length <= 8;
  let graphemes = 0;
  for (const _ of segmenter.segment(value)) if (++graphemes > 1) return false;
  return graphemes === 1;
}

/**
 * Usernames written as `@name` in a message body, lowercased, in order, each once. A sentence
 * may end right after a name ("thanks @bob."), so a name ending in dots or hyphens is also
 * offered without them; the caller keeps the ones that name a member.
 */
export function mentionedNames(body: string): string[] {
  const out: string[] = [];
  const add = (name: string) => {
    if (name.length >= 3 && !out.includes(name)) out.push(name);
  };
  for (const m of body.matchAll(/(^|[^A-Za-z0-9_.@-])@([A-Za-z0-9_.-]{3,32})/g)) {
    const raw = m[2]!.toLowerCase();
    add(raw);
    add(raw.replace(/[.-]+$/, ""));
  }
  return out;
}
/** Largest JSON body the api accepts, in bytes; bigger is 413 payload_too_large. */
export const HTTP_BODY_MAX_BYTES = 64 * 1024;
/** Largest socket frame a client may send, in bytes; bigger closes the socket with 1009. */
export const WS_FRAME_MAX_BYTES = 4 * 1024;
/** A client sends at most one typing frame per conversation this often. */
export const TYPING_INTERVAL_MS = 2500;
/**
 * Frames one socket may send: a burst of `burst`, refilled at `perSecond`. Frames beyond it are
 * dropped (with at most one error frame per second); a socket that keeps going is closed (1008).
 */
export const WS_INBOUND = { burst: 20, perSecond: 5 } as const;
/** Presence: a replica refreshes its users this often; an entry not refreshed expires after TTL. */
export const PRESENCE_HEARTBEAT_MS = 5000;
export const PRESENCE_TTL_MS = 20000;

/** WebSocket close codes the client reacts to. */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  serviceRestart: 1012,
  /** application code: the session token expired; sign in again */
  sessionExpired: 4001,
  /** application code: the client could not keep up; recover through REST */
  tooSlow: 4002,
  /** application code: the session was signed out (here or everywhere); sign in again */
  signedOut: 4003,
  /** application code: the user has too many sockets open; try again after closing one */
  tooManySockets: 4004,
} as const;

export const ERROR_CODES = [
  "validation_failed",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
  "method_not_allowed",
  "rate_limited",
  "unavailable",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
