/** Turns a thread into the rows the chat shows: confirmed then pending, with day breaks and runs. */
import type { Id, Reaction, SystemEvent } from "@parley/contract";
import type { SendPause } from "./state/outbox.ts";
import type { Thread } from "./state/thread.ts";
import { dayKey } from "./format.ts";
import type { BubbleStatus, BubbleWait } from "./components/message-bubble.ts";

export type ThreadItem = {
  key: string;
  seq?: number;
  clientId: string;
  senderId: Id;
  body: string;
  createdAt: string;
  own: boolean;
  status: BubbleStatus;
  /** why an unsent message is not going out yet ("" while it is being sent) */
  wait: BubbleWait;
  error?: string;
  newDay: boolean;
  continued: boolean;
  showSender: boolean;
  /** a system line's group change (shown as a line, not a bubble) */
  system: SystemEvent | null;
  replyTo: number | null;
  mentions: Id[];
  edited: boolean;
  deleted: boolean;
  reactions: Reaction[];
};

const RUN_MS = 5 * 60_000;

/**
 * The rows to show. Unsent messages say why they wait: behind a failed one in the same
 * conversation ("held"), else the send queues' pause (the send limit, no connection).
 */
export function threadItems(t: Thread, me: Id, group: boolean, pause: SendPause = null): ThreadItem[] {
  const failedAt = t.pending.findIndex((p) => p.status === "failed");
  const waitOf = (i: number): BubbleWait =>
    failedAt >= 0 && i > failedAt ? "held" : t.pending[i]?.status === "failed" ? "" : (pause?.reason ?? "");
  const rows = [
    ...t.messages.map((m) => ({
      key: m.clientId && m.senderId === me ? `c:${m.clientId}` : `m:${m.id}`,
      seq: m.seq,
      clientId: m.clientId,
      senderId: m.senderId,
      body: m.body,
      createdAt: m.createdAt,
      status: "sent" as BubbleStatus,
      wait: "" as BubbleWait,
      error: undefined as string | undefined,
      system: m.system,
      replyTo: m.replyTo,
      mentions: m.mentions,
      edited: m.editedAt !== null,
      deleted: m.deleted,
      reactions: m.reactions,
    })),
    ...t.pending.map((p, i) => ({
      key: `c:${p.clientId}`,
      seq: undefined,
      clientId: p.clientId,
      senderId: p.senderId,
      body: p.body,
      createdAt: p.createdAt,
      status: p.status as BubbleStatus,
      wait: waitOf(i),
      error: p.error,
      system: null,
      replyTo: p.replyTo ?? null,
      mentions: [] as Id[],
      edited: false,
      deleted: false,
      reactions: [] as Reaction[],
    })),
  ];
  const seen = new Set<string>();
  const out: ThreadItem[] = [];
  let prev: ThreadItem | undefined;
  for (const r of rows) {
    if (seen.has(r.key)) continue;
    seen.add(r.key);
    const newDay = !prev || dayKey(prev.createdAt) !== dayKey(r.createdAt);
    const continued =
      !!prev &&
      !newDay &&
      !prev.system &&
      !r.system &&
      prev.senderId === r.senderId &&
      Date.parse(r.createdAt) - Date.parse(prev.createdAt) < RUN_MS;
    const own = r.senderId === me;
    const item: ThreadItem = { ...r, own, newDay, continued, showSender: group && !own && !continued && !r.system };
    out.push(item);
    prev = item;
  }
  return out;
}
