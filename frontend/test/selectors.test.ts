import { expect, test } from "bun:test";
import type { Conversation, Message } from "@parley/contract";
import { LiveSignals } from "../src/state/live.ts";
import {
  lastOwnSeq,
  nameOf,
  peerOf,
  peerOnline,
  peerReadSeq,
  previewOf,
  quoteOf,
  senderName,
  systemText,
} from "../src/state/selectors.ts";
import { emptyThread } from "../src/state/thread.ts";

const ME = "b".repeat(24);
const OLGA = "c".repeat(24);
const PIA = "d".repeat(24);
const members = [
  { id: ME, username: "me" },
  { id: OLGA, username: "olga" },
  { id: PIA, username: "pia" },
];
const conv = (kind: "direct" | "group", over: Partial<Conversation> = {}): Conversation => ({
  id: (kind === "direct" ? "1" : "2").padStart(24, "0"),
  kind,
  title: null,
  members: kind === "direct" ? members.slice(0, 2) : members,
  lastMessage: null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  mentions: 0,
  muted: false,
  stateRev: 0,
  createdAt: "2026-01-01T00:00:00.000Z",
  ...over,
});
const msg = (c: Conversation, seq: number, senderId: string): Message => ({
  id: `${seq}`.padStart(24, "e"),
  conversationId: c.id,
  seq,
  senderId,
  body: `m${seq}`,
  clientId: `c${seq}`,
  createdAt: "2026-01-01T00:00:00.000Z",
  kind: "text",
  system: null,
  replyTo: null,
  mentions: [],
  editedAt: null,
  deleted: false,
  reactions: [],
  version: 0,
});

const direct = conv("direct");
const group = conv("group");
const view = () => {
  const live = new LiveSignals(() => undefined);
  return {
    me: { id: ME, username: "me", createdAt: "" },
    live,
    conversation: (id: string | null) => [direct, group].find((c) => c.id === id),
  };
};

test("a direct chat's peer and their presence; a group has neither", () => {
  const st = view();
  expect(peerOf(st, direct)?.username).toBe("olga");
  expect(peerOf(st, group)).toBeUndefined();
  expect(peerOnline(st, direct)).toBe(false);
  st.live.onPresence({ type: "presence", userId: OLGA, online: true });
  expect(peerOnline(st, direct)).toBe(true);
  expect(peerOnline(st, group)).toBeUndefined();
});

test("names: the title, else the other members; senders by id, 'Someone' when unknown", () => {
  const st = view();
  expect(nameOf(st, direct)).toBe("olga");
  expect(nameOf(st, group)).toBe("olga, pia");
  expect(nameOf(st, conv("group", { title: "Trip" }))).toBe("Trip");
  expect(senderName(st, { senderId: PIA, conversationId: group.id })).toBe("pia");
  expect(senderName(st, { senderId: "f".repeat(24), conversationId: group.id })).toBe("Someone");
});

test("the preview says 'You:' for one's own message and names the sender only in a group", () => {
  const st = view();
  expect(previewOf(st, direct)).toBe("");
  expect(previewOf(st, { ...direct, lastMessage: msg(direct, 1, OLGA) })).toBe("m1");
  expect(previewOf(st, { ...direct, lastMessage: msg(direct, 2, ME) })).toBe("You: m2");
  expect(previewOf(st, { ...group, lastMessage: msg(group, 3, PIA) })).toBe("pia: m3");
  expect(previewOf(st, { ...group, lastMessage: msg(group, 4, ME) })).toBe("You: m4");
});

test("read positions: the peer's, learned live; the user's own newest seq", () => {
  const st = view();
  expect(peerReadSeq(st, direct)).toBe(0);
  st.live.onOthersRead({ type: "read", conversationId: direct.id, userId: OLGA, seq: 5 });
  expect(peerReadSeq(st, direct)).toBe(5);
  const t = { ...emptyThread(), messages: [msg(direct, 1, ME), msg(direct, 2, ME), msg(direct, 3, OLGA)] };
  expect(lastOwnSeq(st, t)).toBe(2);
  expect(lastOwnSeq(st, emptyThread())).toBe(0);
});

test("system lines in words, 'You' for the user; a deleted last message previews as such; quotes", () => {
  const c = conv("group");
  const s = {
    action: "added" as const,
    actorId: OLGA,
    actorName: "olga",
    userIds: [ME, PIA],
    title: null,
    members,
    rev: 1,
  };
  expect(systemText(ME, s)).toBe("olga added you and pia");
  expect(systemText(OLGA, { ...s, action: "renamed", title: "Lunch" })).toBe("You renamed the group to “Lunch”");
  expect(systemText(ME, { ...s, action: "left", actorId: PIA, actorName: "pia" })).toBe("pia left");
  const st = { me: { id: ME, username: "me", createdAt: "" }, live: new LiveSignals(() => {}), conversation: () => c };
  const gone = { ...msg(c, 1, OLGA), body: "", deleted: true };
  expect(previewOf(st, { ...c, lastMessage: gone })).toBe("olga: Message deleted");
  const t = { ...emptyThread(), messages: [gone] };
  expect(quoteOf({ ...st, quotes: new Map() }, t, c.id, 1)).toMatchObject({
    sender: "olga",
    deleted: true,
    loaded: true,
  });
  expect(quoteOf({ ...st, quotes: new Map() }, t, c.id, 9)).toMatchObject({ loaded: false });
});
