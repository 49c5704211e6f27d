/** Reading Redis events: channel → recipient, and a tolerant parse of the FanoutEvent envelope. */
import { presenceChannel, userChannel, type FanoutEvent, type ServerFrame } from "@parley/contract/frames";

const USER_PREFIX = userChannel("");
const PRESENCE_PREFIX = presenceChannel("");

export type Route = { kind: "user" | "presence"; id: string } | null;

export function routeOf(channel: string): Route {
  if (channel.startsWith(USER_PREFIX)) return { kind: "user", id: channel.slice(USER_PREFIX.length) };
  if (channel.startsWith(PRESENCE_PREFIX)) return { kind: "presence", id: channel.slice(PRESENCE_PREFIX.length) };
  return null;
}

/** The event plus its frame serialized once, to be written as-is to every local socket. */
export type ParsedEvent = { frame: ServerFrame; text: string; committedAt: number };

export function parseEvent(raw: string): ParsedEvent | null {
  let event: Partial<FanoutEvent>;
  try {
    event = JSON.parse(raw) as Partial<FanoutEvent>;
  } catch {
    return null;
  }
  const frame = event?.frame;
  if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return null;
  const committedAt = typeof event.committedAt === "number" ? event.committedAt : Date.now();
  return { frame, text: JSON.stringify(frame), committedAt };
}

export const fanoutEvent = (frame: ServerFrame, committedAt = Date.now()): string =>
  JSON.stringify({ frame, committedAt } satisfies FanoutEvent);
