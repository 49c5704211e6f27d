/**
 * Pure message logic of one conversation's thread: merge with dedupe and ordering, gap
 * detection, changes of messages (the newest version wins, revs followed without a gap) and
 * the life of a message the user sent (pending → sent, or failed → retried).
 * No DOM, no network: the store calls these and the unit tests check them directly.
 */
import type { Change, Id, Message } from "@parley/contract";

export type LocalStatus = "pending" | "failed";

/** A message the user sent that the server has not confirmed yet. */
export type LocalMessage = {
  clientId: string;
  conversationId: Id;
  senderId: Id;
  body: string;
  createdAt: string;
  status: LocalStatus;
  /** why it failed, in words for the user */
  error?: string;
  attempts: number;
  /** the seq of the message it answers */
  replyTo?: number;
};

export type Thread = {
  /** confirmed messages, ascending `seq`, unique by id and by seq */
  messages: Message[];
  /** sent by this user, not confirmed yet, in the order they were written */
  pending: LocalMessage[];
  /** the server holds older messages than `messages[0]` */
  hasOlder: boolean;
  /** the latest page has been fetched at least once */
  loaded: boolean;
  /**
   * every change of the conversation's messages up to this rev is in `messages`: live change
   * frames and `GET …/changes?since=rev` carry on from here
   */
  rev: number;
};

export const emptyThread = (): Thread => ({ messages: [], pending: [], hasOlder: false, loaded: false, rev: 0 });

/**
 * Merges `incoming` into `existing` (both of one conversation): never twice the same id or the
 * same seq, always ascending seq, and of two copies of one message the higher version (an edit,
 * a delete, a reaction). Returns `existing` itself when nothing changed, so callers can skip
 * re-rendering.
 */
export function mergeMessages(
  existing: readonly Message[],
  incoming: readonly Message[],
  conversationId?: Id,
): Message[] {
  const bySeq = new Map<number, Message>();
  const byId = new Map<string, Message>();
  for (const m of existing) {
    bySeq.set(m.seq, m);
    byId.set(m.id, m);
  }
  let changed = false;
  for (const m of incoming) {
    if (conversationId && m.conversationId !== conversationId) continue;
    const known = byId.get(m.id);
    if (known) {
      if (m.version > known.version) {
        bySeq.set(known.seq, m);
        byId.set(m.id, m);
        changed = true;
      }
      continue;
    }
    if (bySeq.has(m.seq)) continue;
    bySeq.set(m.seq, m);
    byId.set(m.id, m);
    changed = true;
  }
  if (!changed) return existing as Message[];
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A newer version of a message the thread has (the server's answer to one's own change, say). */
export function updateMessage(thread: Thread, message: Message): Thread {
  if (!thread.messages.some((m) => m.id === message.id)) return thread;
  const messages = mergeMessages(thread.messages, [message]);
  return messages === thread.messages ? thread : { ...thread, messages };
}

/**
 * Changes in rev order applied to the thread: each message it has takes the newer version, and
 * `rev` moves over every change that follows it without a gap. A change past a gap is applied
 * too (versions never go back) but leaves `rev` where the catch-up must start.
 */
export function applyChanges(thread: Thread, changes: readonly Change[]): Thread {
  let rev = thread.rev;
  for (const c of changes) if (c.rev === rev + 1) rev = c.rev;
  const updated = changes.reduce((t, c) => updateMessage(t, c.message), thread);
  return rev === thread.rev && updated === thread ? thread : { ...updated, rev };
}

/**
 * The highest seq up to which the thread has no hole, counting from its oldest loaded message.
 * An empty thread is complete up to 0. This is the `after=` to ask the api for.
 */
export function lastContiguousSeq(messages: readonly Message[]): number {
  const first = messages[0];
  if (!first) return 0;
  let last = first.seq;
  for (let i = 1; i < messages.length; i++) {
    const seq = messages[i]!.seq;
    if (seq !== last + 1) break;
    last = seq;
  }
  return last;
}

/** When the thread has a hole (a later seq arrived before an earlier one), the seq to fetch after; else null. */
export function gapAfter(messages: readonly Message[]): number | null {
  const contiguous = lastContiguousSeq(messages);
  const newest = messages.at(-1)?.seq ?? 0;
  return newest > contiguous ? contiguous : null;
}

/** True when a message with this seq would not follow the thread without a hole. */
export function isGap(messages: readonly Message[], seq: number): boolean {
  const newest = messages.at(-1)?.seq;
  return newest !== undefined && seq > newest + 1;
}

/** Whether the thread has not applied every change up to `rev` (a live change skipped some). */
export const missesChanges = (thread: Thread, rev: number) => rev > thread.rev;

/** A new client id: unique, URL-safe, within the contract's 64 characters and ^[A-Za-z0-9_-]+$. */
export function newClientId(uuid: () => string = () => crypto.randomUUID()): string {
  return `c_${uuid().replaceAll("-", "")}`;
}

export function addPending(thread: Thread, local: LocalMessage): Thread {
  if (thread.pending.some((p) => p.clientId === local.clientId)) return thread;
  return { ...thread, pending: [...thread.pending, local] };
}

/**
 * The server confirmed a message (REST answer or socket frame): it joins the thread and any
 * pending copy with the same clientId from the same sender leaves, so it shows once.
 */
export function confirmMessage(thread: Thread, message: Message): Thread {
  const messages = mergeMessages(thread.messages, [message]);
  const pending = thread.pending.filter((p) => !(p.clientId === message.clientId && p.senderId === message.senderId));
  if (messages === thread.messages && pending.length === thread.pending.length) return thread;
  return { ...thread, messages, pending };
}

/** Confirms every pending message whose clientId shows up among confirmed ones (after a catch-up). */
export function settlePending(thread: Thread): Thread {
  if (!thread.pending.length) return thread;
  const confirmed = new Set(thread.messages.map((m) => `${m.senderId}|${m.clientId}`));
  const pending = thread.pending.filter((p) => !confirmed.has(`${p.senderId}|${p.clientId}`));
  return pending.length === thread.pending.length ? thread : { ...thread, pending };
}

export function failPending(thread: Thread, clientId: string, error: string): Thread {
  return mapPending(thread, clientId, (p) => ({ ...p, status: "failed", error }));
}

/** Back to pending for another attempt; the clientId stays, so the server cannot store it twice. */
export function retryPending(thread: Thread, clientId: string): Thread {
  return mapPending(thread, clientId, (p) => ({ ...p, status: "pending", error: undefined, attempts: p.attempts + 1 }));
}

/** The user gave up on an unsent message: it leaves the thread (and the saved ones). */
export function discardPending(thread: Thread, clientId: string): Thread {
  if (!thread.pending.some((p) => p.clientId === clientId)) return thread;
  return { ...thread, pending: thread.pending.filter((p) => p.clientId !== clientId) };
}

function mapPending(thread: Thread, clientId: string, f: (p: LocalMessage) => LocalMessage): Thread {
  if (!thread.pending.some((p) => p.clientId === clientId)) return thread;
  return { ...thread, pending: thread.pending.map((p) => (p.clientId === clientId ? f(p) : p)) };
}
