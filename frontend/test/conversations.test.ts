import { describe, expect, test } from "bun:test";
import type { Conversation, Message } from "@parley/contract";
import {
  applyChanged,
  applyMessage,
  applyRead,
  applySystem,
  conversationName,
  mergeServerConversation,
  sortConversations,
  unreadTotal,
  upsertConversation,
} from "../src/state/conversations.ts";

const ME = "b".repeat(24);
const OTHER = "c".repeat(24);
const conv = (id: string, createdAt: string, over: Partial<Conversation> = {}): Conversation => ({
  id: id.padStart(24, "0"),
  kind: "direct",
  title: null,
  members: [
    { id: ME, username: "me" },
    { id: OTHER, username: "olga" },
  ],
  lastMessage: null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  mentions: 0,
  muted: false,
  stateRev: 0,
  createdAt,
  ...over,
});
const msg = (c: Conversation, seq: number, senderId: string, at: string): Message => ({
  id: `${seq}`.padStart(24, "e"),
  conversationId: c.id,
  seq,
  senderId,
  body: `m${seq}`,
  clientId: `k${seq}`,
  createdAt: at,
  kind: "text",
  system: null,
  replyTo: null,
  mentions: [],
  editedAt: null,
  deleted: false,
  reactions: [],
  version: 0,
});

describe("conversation list", () => {
  test("newest activity first: last message time, else creation time", () => {
    const a = conv("a", "2026-01-01T10:00:00.000Z");
    const b = conv("b", "2026-01-01T11:00:00.000Z");
    const c = conv("c", "2026-01-01T09:00:00.000Z");
    const cWithMsg = { ...c, lastMessage: msg(c, 1, OTHER, "2026-01-01T12:00:00.000Z"), lastSeq: 1 };
    expect(sortConversations([a, b, c]).map((x) => x.id.at(-1))).toEqual(["b", "a", "c"]);
    expect(upsertConversation([a, b, c], cWithMsg).map((x) => x.id.at(-1))).toEqual(["c", "b", "a"]);
  });
  test("a message from someone else counts as unread unless it is being looked at; mine never", () => {
    let c = conv("a", "2026-01-01T10:00:00.000Z");
    c = applyMessage(c, msg(c, 1, OTHER, "2026-01-01T10:01:00.000Z"), ME, false);
    c = applyMessage(c, msg(c, 2, OTHER, "2026-01-01T10:02:00.000Z"), ME, false);
    expect(c.unread).toBe(2);
    expect(c.lastMessage?.seq).toBe(2);
    c = applyMessage(c, msg(c, 3, ME, "2026-01-01T10:03:00.000Z"), ME, false);
    expect(c.unread).toBe(2);
    c = applyMessage(c, msg(c, 4, OTHER, "2026-01-01T10:04:00.000Z"), ME, true);
    expect(c.unread).toBe(2);
    // the same message twice does not count twice
    expect(applyMessage(c, msg(c, 4, OTHER, "2026-01-01T10:04:00.000Z"), ME, false)).toBe(c);
    c = applyRead(c, 4);
    expect(c.unread).toBe(0);
    expect(applyRead(c, 2)).toBe(c); // never moves back
  });
  test("names: title, else the other members", () => {
    expect(conversationName(conv("a", "2026-01-01T10:00:00.000Z"), ME)).toBe("olga");
    expect(conversationName(conv("a", "2026-01-01T10:00:00.000Z", { title: "Team", kind: "group" }), ME)).toBe("Team");
  });
});

describe("merging the server's conversation list into the local one", () => {
  const at = (min: number) => `2026-01-01T10:${String(min).padStart(2, "0")}:00.000Z`;
  test("a live message that arrived while the list request was in flight is not rolled back", () => {
    const server = conv("a", at(0), { readSeq: 2, lastSeq: 3, unread: 1 });
    const s3 = { ...server, lastMessage: msg(server, 3, OTHER, at(3)) };
    const local = applyMessage(s3, msg(s3, 4, OTHER, at(4)), ME, false);
    expect(local.unread).toBe(2);
    const merged = mergeServerConversation(local, s3);
    expect(merged.lastSeq).toBe(4);
    expect(merged.lastMessage?.seq).toBe(4);
    expect(merged.unread).toBe(2);
  });
  test("the server copy wins when it is as new or newer; a local copy that does not exist yet takes the server's", () => {
    const local = conv("a", at(0), { lastSeq: 2, readSeq: 1, unread: 1 });
    const server = { ...conv("a", at(0), { lastSeq: 5, readSeq: 1, unread: 4 }), title: "renamed" };
    const s5 = { ...server, lastMessage: msg(server, 5, OTHER, at(5)) };
    expect(mergeServerConversation(local, s5)).toEqual(s5);
    expect(mergeServerConversation(undefined, s5)).toBe(s5);
  });
  test("the read position never moves back and unread is recomputed from it", () => {
    // read locally up to 4 (the read request may not have reached the server yet)
    const local = conv("a", at(0), { lastSeq: 4, readSeq: 4, unread: 0 });
    const server = conv("a", at(0), { lastSeq: 4, readSeq: 1, unread: 3 });
    const merged = mergeServerConversation(local, server);
    expect(merged.readSeq).toBe(4);
    expect(merged.unread).toBe(0);
    // read elsewhere up to 5 while a sixth message arrived here
    const here = conv("a", at(0), { lastSeq: 6, readSeq: 0, unread: 6 });
    const there = conv("a", at(0), { lastSeq: 5, readSeq: 5, unread: 0 });
    expect(mergeServerConversation(here, there)).toMatchObject({ lastSeq: 6, readSeq: 5, unread: 1 });
  });
});

describe("mentions, group changes, edits", () => {
  const G = conv("9", "2026-01-01T00:00:00.000Z", { kind: "group", title: "g" });
  test("a message naming me counts as a mention apart from unread; reading everything clears both", () => {
    const m = { ...msg(G, 1, OTHER, "2026-01-02T00:00:00.000Z"), mentions: [ME] };
    const after = applyMessage(G, m, ME, false);
    expect([after.unread, after.mentions]).toEqual([1, 1]);
    const plain = applyMessage(after, msg(G, 2, OTHER, "2026-01-02T00:01:00.000Z"), ME, false);
    expect([plain.unread, plain.mentions]).toEqual([2, 1]);
    expect(applyRead(plain, 2)).toMatchObject({ unread: 0, mentions: 0 });
  });

  test("a system line brings the group's name and members unless a newer version is known", () => {
    const line = (rev: number, title: string) => ({
      ...msg(G, rev, OTHER, "2026-01-02T00:00:00.000Z"),
      kind: "system" as const,
      system: {
        action: "renamed" as const,
        actorId: OTHER,
        actorName: "olga",
        userIds: [],
        title,
        members: G.members,
        rev,
      },
    });
    const renamed = applySystem(G, line(2, "new"));
    expect([renamed.title, renamed.stateRev]).toEqual(["new", 2]);
    expect(applySystem(renamed, line(1, "old"))).toBe(renamed);
    // and a list fetched before the line does not undo it
    expect(mergeServerConversation(renamed, G).title).toBe("new");
  });

  test("a newer version of the last message replaces the preview; of another message it does not", () => {
    const last = msg(G, 3, OTHER, "2026-01-02T00:00:00.000Z");
    const c = { ...G, lastMessage: last, lastSeq: 3 };
    const deleted = { ...last, body: "", deleted: true, version: 1 };
    expect(applyChanged(c, deleted).lastMessage).toBe(deleted);
    expect(applyChanged(c, { ...msg(G, 2, OTHER, last.createdAt), version: 4 })).toBe(c);
    expect(
      unreadTotal([
        { ...c, unread: 2 },
        { ...c, unread: 3, muted: true },
      ]),
    ).toBe(5);
  });
});
