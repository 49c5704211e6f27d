/** Client → server frames: the only accepted shape is `{type:"typing", conversationId}`. */
import type { ClientFrame } from "@parley/contract/frames";
import { isId, JSON_DEPTH_MAX } from "@parley/contract/limits";
import { jsonDepthWithin } from "@parley/contract/text";

export type ParsedClientFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string };

/** Accepts the frame's text (null for a binary frame). */
export function parseClientFrame(input: unknown): ParsedClientFrame {
  let value = input;
  if (typeof value === "string") {
    if (!jsonDepthWithin(value, JSON_DEPTH_MAX)) return { ok: false, message: "frames must be JSON objects" };
    try {
      value = JSON.parse(value);
    } catch {
      return { ok: false, message: "frames must be JSON objects" };
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return { ok: false, message: "frames must be JSON objects" };
  const v = value as Record<string, unknown>;
  if (v.type !== "typing") {
    // never String(v.type): an object whose toString is not a function throws there
    const named = typeof v.type === "string" ? JSON.stringify(v.type).slice(0, 40) : `(a ${typeof v.type})`;
    return { ok: false, message: `unknown frame type ${named}` };
  }
  if (!isId(v.conversationId)) return { ok: false, message: "typing needs a conversationId (24 hex characters)" };
  return { ok: true, frame: { type: "typing", conversationId: v.conversationId } };
}
