/**
 * What one change makes of a message, as a pure function of the message as it is now: who may
 * make it (403 for someone else's message or a system line, 409 once deleted), and what the
 * next version holds. `null` when the change would change nothing (the same body again, a
 * reaction already on), so repeating a request is harmless.
 */
import { MESSAGE_VERSIONS_MAX } from "@parley/contract/limits";
import type { ChangeKind } from "@parley/contract";
import type { MessageDoc, MessageState, ReactionDoc } from "../../libs/collections.ts";
import { oid } from "../../libs/db.ts";
import { ApiError, invalid } from "../../libs/errors.ts";

/** Different emoji one message may carry. */
export const REACTIONS_PER_MESSAGE_MAX = 20;

export type Op = { kind: "edit"; body: string } | { kind: "delete" } | { kind: "reaction"; emoji: string; on: boolean };

export type Current = MessageDoc & MessageState;

export function nextState(
  now: Current,
  op: Op,
  userId: string,
  at: Date,
): (MessageState & { kind: ChangeKind }) | null {
  if (now.kind === "system") throw new ApiError("forbidden", "a system line cannot be changed");
  if (op.kind !== "reaction" && now.senderId.toHexString() !== userId)
    throw new ApiError("forbidden", `only its sender can ${op.kind} a message`);
  if (now.deleted) {
    if (op.kind === "delete") return null;
    throw new ApiError("conflict", "the message was deleted");
  }
  const version = now.version + 1;
  if (version > MESSAGE_VERSIONS_MAX) throw new ApiError("conflict", "this message cannot be changed any more");
  switch (op.kind) {
    case "edit":
      if (op.body === now.body) return null;
      return { kind: "edit", body: op.body, editedAt: at, deleted: false, reactions: now.reactions, version };
    case "delete":
      // the body and the reactions go; the message keeps its place
      return { kind: "delete", body: "", editedAt: now.editedAt, deleted: true, reactions: [], version };
    case "reaction": {
      const reactions = toggled(now.reactions, op.emoji, userId, op.on);
      if (!reactions) return null;
      return { kind: "reaction", body: now.body, editedAt: now.editedAt, deleted: false, reactions, version };
    }
  }
}

/** The reactions with `userId`'s `emoji` on or off; null when it already is. */
function toggled(reactions: ReactionDoc[], emoji: string, userId: string, on: boolean): ReactionDoc[] | null {
  const entry = reactions.find((r) => r.emoji === emoji);
  const has = entry?.userIds.some((u) => u.toHexString() === userId) ?? false;
  if (has === on) return null;
  if (on && !entry) {
    if (reactions.length >= REACTIONS_PER_MESSAGE_MAX)
      throw invalid(`a message carries at most ${REACTIONS_PER_MESSAGE_MAX} different reactions`, [
        { path: "/emoji", message: "too many different reactions" },
      ]);
    return [...reactions, { emoji, userIds: [oid(userId)] }];
  }
  return reactions
    .map((r) =>
      r.emoji !== emoji
        ? r
        : { emoji, userIds: on ? [...r.userIds, oid(userId)] : r.userIds.filter((u) => u.toHexString() !== userId) },
    )
    .filter((r) => r.userIds.length > 0);
}
