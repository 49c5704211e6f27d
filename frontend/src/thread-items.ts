/** Turns a thread into the rows the chat shows: confirmed then pending, with day breaks and runs. */
import type { Id } from "@parley/contract";
import type { Thread } from "./state/thread.ts";
import { dayKey } from "./format.ts";
import type { BubbleStatus } from "./components/message-bubble.ts";

export type ThreadItem = {
  key: string;
  seq?: number;
  clientId: string;
  senderId: Id;
  body: string;
  createdAt: string;
  own: boolean;
  status: BubbleStatus;
  error?: string;
  newDay: boolean;
  continued: boolean;
  showSender: boolean;
};

const RUN_MS = 5 * 60_000;

export function threadItems(t: Thread, me: Id, group: boolean): ThreadItem[] {
  const rows = [
    ...t.messages.map((m) => ({
      key: m.clientId && m.senderId === me ? `c:${m.clientId}` : `m:${m.id}`,
      seq: m.seq,
      clientId: m.clientId,
      senderId: m.senderId,
      body: m.body,
      createdAt: m.createdAt,
      status: "sent" as BubbleStatus,
      error: undefined as string | undefined,
    })),
    ...t.pending.map((p) => ({
      key: `c:${p.clientId}`,
      seq: undefined,
      clientId: p.clientId,
      senderId: p.senderId,
      body: p.body,
      createdAt: p.createdAt,
      status: p.status as BubbleStatus,
      error: p.error,
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
      prev.senderId === r.senderId &&
      Date.parse(r.createdAt) - Date.parse(prev.createdAt) < RUN_MS;
    const own = r.senderId === me;
    const item: ThreadItem = { ...r, own, newDay, continued, showSender: group && !own && !continued };
    out.push(item);
    prev = item;
  }
  return out;
}
