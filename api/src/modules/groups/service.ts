/**
 * Managing a group: rename it, add members, leave it. Each change is a system line in the
 * thread, numbered with the messages (the message sequencer writes it, so it has its place in
 * seq order), and each line makes the next version of the group's name and members
 * (conversations/state.ts): a line's `_id` names that version, so of two changes made from the
 * same version one wins and the other is made again on top of it — adding carol while bob
 * leaves ends with carol in and bob out, whichever lands first.
 *
 * After the line: the conversation document takes the new name and members (awaited), the
 * conversation cache of every api process drops its copy, and the line goes to everyone who
 * was or now is a member (the one who left sees their own "left" line, then nothing more). A
 * member who left is no longer a recipient of anything, and every route answers them 404.
 */
import type { Conversation } from "@parley/contract";
import { GROUP_MEMBERS_MAX } from "@parley/contract/limits";
import type { Types } from "mongoose";
import type { ConversationDoc, GroupStateDoc, MessageDoc, SystemDoc } from "../../libs/collections.ts";
import type { Deps } from "../../libs/deps.ts";
import { oid } from "../../libs/db.ts";
import { ApiError, invalid, notFound } from "../../libs/errors.ts";
import { stateMessageId } from "../../libs/keys.ts";
import { allowOrRefuse } from "../../libs/ratelimit.ts";
import { memberConversation, viewFor } from "../conversations/service.ts";
import { isMember, stateOf, stateOfLine, withState } from "../conversations/state.ts";
import { lastMessageOf, sentState, toMessage } from "../conversations/views.ts";
import { describe } from "./lines.ts";

type GroupDeps = Pick<
  Deps,
  "db" | "conversations" | "sequencer" | "bookkeeper" | "publisher" | "limiter" | "config" | "log"
>;

/** What a change makes of the group at one version; null when it would change nothing. */
type Edit = (s: GroupStateDoc) => Omit<SystemDoc, "actorId" | "actorName" | "rev"> | null;

/** Tries of a change that keeps meeting another one (each try means another change landed). */
const MAX_ATTEMPTS = 50;

export async function rename(deps: GroupDeps, conversationId: string, actorId: string, raw: string) {
  const title = raw.trim() || null;
  await memberConversation(deps, conversationId, actorId);
  await limited(deps, actorId);
  return change(deps, conversationId, actorId, (s) =>
    s.title === title
      ? null
      : { action: "renamed", userIds: [], title, memberIds: s.memberIds, memberNames: s.memberNames },
  );
}

export async function addMembers(deps: GroupDeps, conversationId: string, actorId: string, ids: string[]) {
  await memberConversation(deps, conversationId, actorId);
  await limited(deps, actorId);
  // one lookup by _id each, which also gives the names the group keeps
  const users = await Promise.all(
    [...new Set(ids)].map((id) => deps.db.User.findById(oid(id)).select({ username: 1 }).lean()),
  );
  if (users.some((u) => !u)) throw notFound("unknown member");
  const found = users as { _id: Types.ObjectId; username: string }[];
  return change(deps, conversationId, actorId, (s) => {
    const added = found.filter((u) => !s.memberIds.some((m) => m.equals(u._id)));
    if (added.length === 0) return null;
    if (s.memberIds.length + added.length > GROUP_MEMBERS_MAX + 1)
      throw invalid(`a group has at most ${GROUP_MEMBERS_MAX + 1} members`, [
        { path: "/memberIds", message: "too many members" },
      ]);
    return {
      action: "added",
      userIds: added.map((u) => u._id),
      title: s.title,
      memberIds: [...s.memberIds, ...added.map((u) => u._id)],
      memberNames: [...s.memberNames, ...added.map((u) => u.username)],
    };
  });
}

export async function leave(deps: GroupDeps, conversationId: string, actorId: string): Promise<void> {
  await change(deps, conversationId, actorId, (s) => {
    const keep = s.memberIds
      .map((id, i) => [id, s.memberNames[i] ?? ""] as const)
      .filter(([id]) => id.toHexString() !== actorId);
    return {
      action: "left",
      userIds: [],
      title: s.title,
      memberIds: keep.map(([id]) => id),
      memberNames: keep.map(([, name]) => name),
    };
  });
}

/** Renames and additions reach other people: limited per user, as a loop could flood them. */
const limited = (deps: GroupDeps, userId: string) =>
  allowOrRefuse(
    deps.limiter,
    `group:${userId}`,
    deps.config.groupRateMax,
    deps.config.groupRateWindowSeconds,
    "too many changes to groups at once: wait a moment, then try again",
  );

/**
 * Writes the system line that makes the next version of the group, retrying on top of any
 * version that got there first. Returns the actor's view of the group afterwards.
 */
async function change(deps: GroupDeps, conversationId: string, actorId: string, edit: Edit): Promise<Conversation> {
  const conv = await memberConversation(deps, conversationId, actorId);
  if (conv.kind !== "group")
    throw invalid("only a group has a name and members to change", [{ path: "/", message: "a direct chat" }]);
  let state = stateOf(conv);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (!isMember(state, actorId)) throw notFound("no such conversation");
    const next = edit(state);
    if (!next) return viewFor(deps, withState(conv, state), actorId);
    const rev = state.rev + 1;
    const actorName = state.memberNames[state.memberIds.findIndex((m) => m.toHexString() === actorId)] ?? "someone";
    const system: SystemDoc = { ...next, actorId: oid(actorId), actorName, rev };
    const written = await deps.sequencer.write(
      {
        _id: stateMessageId(conversationId, rev),
        conversationId: conv._id,
        senderId: oid(actorId),
        body: describe(system),
        clientId: `state-${rev}`,
        createdAt: new Date(),
        kind: "system",
        system,
        replyTo: null,
        mentions: [],
        deleted: false,
      },
      deps.sequencer.knownHead(conversationId) || conv.lastSeq,
    );
    if (!written.created) {
      // another change made this version: ours goes on top of it
      if (!written.doc.system) throw new ApiError("unavailable", "the group's history is inconsistent");
      state = stateOfLine(written.doc.system);
      continue;
    }
    const after = withState(conv, stateOfLine(system));
    await afterLine(deps, withState(conv, state), after, written.doc);
    return isMember(after, actorId) ? viewFor(deps, after, actorId) : viewFor(deps, conv, actorId);
  }
  throw new ApiError("unavailable", "the group keeps changing: try again");
}

async function afterLine(deps: GroupDeps, before: ConversationDoc, after: ConversationDoc, line: MessageDoc) {
  const id = before._id.toHexString();
  const state = stateOfLine(line.system!);
  // the document's copy first: a list asked for on hearing the line shows the group as it is now
  await deps.bookkeeper.stateCommitted(id, lastMessageOf({ ...line, ...sentState(line) }), state);
  // people added have nothing to catch up on from before they came: only the line is new to
  // them; and this entry in `reads` is what their conversation list finds the group through
  await Promise.all(
    (line.system?.userIds ?? []).map((u) => deps.bookkeeper.raiseRead(id, u.toHexString(), line.seq - 1)),
  );
  await deps.conversations.invalidate(id);
  const recipients = new Set([...before.memberIds, ...after.memberIds].map((m) => m.toHexString()));
  await deps.publisher.toUsers([...recipients], {
    type: "message",
    message: toMessage({ ...line, ...sentState(line) }),
  });
}
