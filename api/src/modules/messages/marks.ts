/**
 * How the bookkeeping (bookkeeping.ts) combines, writes and checks each kind of value it keeps,
 * and the one for conversation documents: lastSeq with the copy of the last message, each
 * sender's lastSent, the change head lastRev, and the group's name and members (stateRev).
 */
import { Types } from "mongoose";
import type { GroupStateDoc, LastMessageDoc } from "../../libs/collections.ts";
import type { Db } from "../../libs/db.ts";

/**
 * At most one write per conversation this often (the first one of a quiet spell goes at once).
 * An update costs the embedded FerretDB a read and a write of the whole document: at 1 s, a
 * send-path run of 250 sends/s over 100 busy conversations made half an update per send, and
 * going to 3 s took the database's CPU (FerretDB + PostgreSQL) from 54 % to 37 % of a core
 * (bench/results/send-path-postgresql.md). The values lag by at most this much in other api
 * processes; this one overlays what it has not written yet.
 */
const CONVERSATION_INTERVAL_MS = 3000;

/**
 * What the bookkeeping keeps for a conversation: its newest message (as it is now), what each
 * sender sent last, the change head, and the group's newest name and members.
 */
export type ConversationMarks = {
  lastMessage?: LastMessageDoc;
  sent: Record<string, number>;
  rev?: number;
  state?: GroupStateDoc;
};

/** How one kind of kept value is combined, written and checked. */
export type Kind<V> = {
  intervalMs: number;
  /** written without waiting out the interval (someone waits for it) */
  urgent?(v: V): boolean;
  /** whether another process may be writing the same value, so a write must be checked again */
  contested(v: V): boolean;
  /** the higher of two values (field by field) */
  merge(a: V, b: V): V;
  /** writes what in `v` is above the stored value; true when the stored value moved */
  write(v: V): Promise<boolean>;
  /** true when the stored value is below `v` somewhere (another process lowered it) */
  lowered(v: V): Promise<boolean>;
};

export function conversationKind(
  db: Pick<Db, "Conversation">,
  conversationId: string,
  /** whether other api processes write to this conversation too (see Sequencer.shared) */
  shared: ((conversationId: string) => boolean) | undefined,
): Kind<ConversationMarks> {
  // the driver's collection: these run once per conversation every few seconds; mongoose's casting
  // of the last message would cost more than the write (measured)
  const conversations = db.Conversation.collection;
  const _id = new Types.ObjectId(conversationId);
  return {
    intervalMs: CONVERSATION_INTERVAL_MS,
    urgent: (m) => m.state !== undefined,
    // a group's members are what privacy rests on: always checked again
    contested: (m) => m.state !== undefined || (shared?.(conversationId) ?? true),
    merge: (a, b) => ({
      lastMessage: newerLast(a.lastMessage, b.lastMessage),
      sent: mergeMax(a.sent, b.sent),
      rev: Math.max(a.rev ?? 0, b.rev ?? 0) || undefined,
      state: (b.state?.rev ?? 0) > (a.state?.rev ?? 0) ? b.state : a.state,
    }),
    async write(m) {
      const raise = maxFields(m);
      let moved = false;
      const last = m.lastMessage;
      if (last) {
        const { seq, createdAt } = last;
        const res = await conversations.updateOne(
          { _id, lastSeq: { $lt: seq } },
          { $set: { lastSeq: seq, lastMessage: last, lastActivityAt: createdAt }, ...raise },
        );
        moved = res.modifiedCount > 0;
        // lastSeq is there already: a newer version of that same message (an edit, a delete)
        if (!moved && (last.version ?? 0) > 0)
          await conversations.updateOne({ _id, lastSeq: seq }, { $set: { lastMessage: last }, ...raise });
        // another process wrote a newer message: the senders (and the change head) still count
        else if (!moved && raise.$max) await conversations.updateOne({ _id }, raise);
      } else if (raise.$max) moved = (await conversations.updateOne({ _id }, raise)).modifiedCount > 0;
      const state = m.state;
      if (state) {
        const res = await conversations.updateOne(
          { _id, stateRev: { $lt: state.rev } },
          {
            $set: {
              title: state.title,
              memberIds: state.memberIds,
              memberNames: state.memberNames,
              stateRev: state.rev,
            },
          },
        );
        moved ||= res.modifiedCount > 0;
      }
      return moved;
    },
    async lowered(m) {
      const doc = await conversations.findOne(
        { _id },
        { projection: { lastSeq: 1, lastSent: 1, lastRev: 1, stateRev: 1, lastMessage: 1 } },
      );
      if (!doc) return false;
      const stored = (doc.lastSent ?? {}) as Record<string, number>;
      const last = m.lastMessage;
      const storedLast = doc.lastMessage as LastMessageDoc | null;
      return (
        (last !== undefined && doc.lastSeq < last.seq) ||
        (last !== undefined &&
          doc.lastSeq === last.seq &&
          (storedLast?.version ?? 0) < (last.version ?? 0) &&
          storedLast?._id.equals(last._id) === true) ||
        Object.entries(m.sent).some(([u, s]) => (stored[u] ?? 0) < s) ||
        (doc.lastRev ?? 0) < (m.rev ?? 0) ||
        (doc.stateRev ?? 0) < (m.state?.rev ?? 0)
      );
    },
  };
}

/** The newer of two copies of the last message: the higher seq, then the higher version. */
function newerLast(a: LastMessageDoc | undefined, b: LastMessageDoc | undefined): LastMessageDoc | undefined {
  if (!a || !b) return a ?? b;
  if (a.seq !== b.seq) return a.seq > b.seq ? a : b;
  return (b.version ?? 0) > (a.version ?? 0) ? b : a;
}

/** `$max` of every sender's lastSent and of lastRev; nothing when there is nothing to raise. */
function maxFields(m: ConversationMarks): { $max?: Record<string, number> } {
  const fields: Record<string, number> = {};
  for (const [user, seq] of Object.entries(m.sent)) fields[`lastSent.${user}`] = seq;
  if (m.rev) fields.lastRev = m.rev;
  return Object.keys(fields).length > 0 ? { $max: fields } : {};
}

function mergeMax(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}
