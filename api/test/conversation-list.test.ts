/**
 * Issue 10, defect 5 (the parts of this issue): the conversation list has no silent cap (a page
 * at a time with a cursor the client follows), and creating conversations is rate-limited per
 * creator, so nobody can bury someone's real conversations under groups. Defect 14: group titles
 * cannot carry direction overrides or invisible characters.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CONVERSATIONS_PAGE_DEFAULT, CONVERSATIONS_PAGE_MAX } from "@parley/contract/limits";
import { Types } from "mongoose";
import { readId } from "../src/libs/collections.ts";
import { startTestApi, type TestApi } from "./helpers/app.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi("conversation_list", { conversationCreateMax: 3, conversationCreateWindowSeconds: 60 });
});
afterAll(() => api.stop());

const create = (token: string, body: unknown) => api.call("POST", "/api/conversations", { token, body });

/**
 * `count` groups of `spammer` with `victim` in them, written straight to the database (as
 * POST /api/conversations writes them) so the test does not spend a minute on requests. Every
 * tenth one shares its activity time with the one before, so paging must break ties by id.
 */
async function spamGroups(count: number, spammer: { id: string; name: string }, victim: { id: string; name: string }) {
  // all newer than anything the test made before: they push the real conversations down the list
  const base = Date.now() + 1000;
  const docs = Array.from({ length: count }, (_, i) => {
    const _id = new Types.ObjectId();
    const at = new Date(base + (i - (i % 10 === 9 ? 1 : 0)) * 1000);
    return {
      _id,
      kind: "group",
      title: `spam ${i}`,
      memberIds: [new Types.ObjectId(spammer.id), new Types.ObjectId(victim.id)],
      memberNames: [spammer.name, victim.name],
      directKey: `group:${_id.toHexString()}`,
      lastSeq: 0,
      lastMessage: null,
      lastSent: {},
      lastActivityAt: at,
      createdAt: at,
    };
  });
  // each member's entry in `reads` first, as POST /api/conversations writes them: the list finds
  // a user's conversations through those
  const reads = docs.flatMap((d) =>
    d.memberIds.map((userId) => ({
      _id: readId(d._id.toHexString(), userId.toHexString()),
      conversationId: d._id,
      userId,
      seq: 0,
    })),
  );
  for (let i = 0; i < reads.length; i += 100)
    await api.deps.db.Read.collection.insertMany(reads.slice(i, i + 100) as never[]);
  for (let i = 0; i < docs.length; i += 100) await api.deps.db.Conversation.insertMany(docs.slice(i, i + 100));
}

describe("the conversation list, a page at a time", () => {
  test("520 conversations: every one is reachable by following nextCursor, each once, newest first", async () => {
    const victim = await api.register("victim");
    const spammer = await api.register("spammer");
    const friend = await api.register("friend");
    // the victim's real conversation, older than all the spam
    const real = (await create(victim.token, { memberIds: [friend.user.id] })).body.conversation;
    await spamGroups(
      520,
      { id: spammer.user.id, name: spammer.user.username },
      { id: victim.user.id, name: victim.user.username },
    );

    const seen: string[] = [];
    const times: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor
        ? `?limit=${CONVERSATIONS_PAGE_MAX}&cursor=${cursor}`
        : `?limit=${CONVERSATIONS_PAGE_MAX}`;
      const res = await api.call("GET", `/api/conversations${query}`, { token: victim.token });
      expect(res.status).toBe(200);
      expect(res.body.conversations.length).toBeLessThanOrEqual(CONVERSATIONS_PAGE_MAX);
      for (const c of res.body.conversations) {
        seen.push(c.id);
        times.push(Date.parse(c.lastMessage?.createdAt ?? c.createdAt));
      }
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(6);
    expect(seen).toHaveLength(521);
    expect(new Set(seen).size).toBe(521);
    expect(seen.at(-1)).toBe(real.id); // the oldest, last: reachable however much came after it
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  test("the default page is CONVERSATIONS_PAGE_DEFAULT, and a bad cursor or limit is 422", async () => {
    const me = await api.register("pager");
    const other = await api.register("pager");
    await spamGroups(
      CONVERSATIONS_PAGE_DEFAULT + 5,
      { id: other.user.id, name: other.user.username },
      { id: me.user.id, name: me.user.username },
    );
    const first = await api.call("GET", "/api/conversations", { token: me.token });
    expect(first.body.conversations).toHaveLength(CONVERSATIONS_PAGE_DEFAULT);
    expect(typeof first.body.nextCursor).toBe("string");
    const rest = await api.call("GET", `/api/conversations?cursor=${first.body.nextCursor}`, { token: me.token });
    expect(rest.body.conversations).toHaveLength(5);
    expect(rest.body.nextCursor).toBeNull();
    for (const q of ["?cursor=nope", "?limit=0", `?limit=${CONVERSATIONS_PAGE_MAX + 1}`, "?cursor=1_zz"]) {
      const bad = await api.call("GET", `/api/conversations${q}`, { token: me.token });
      expect({ q, status: bad.status, code: bad.body.error?.code }).toEqual({
        q,
        status: 422,
        code: "validation_failed",
      });
    }
  });
});

describe("creating conversations is limited per creator", () => {
  test("past CONVERSATION_CREATE_MAX new conversations in the window: 429 with Retry-After, nothing created", async () => {
    const spammer = await api.register("flood");
    const targets = await Promise.all(Array.from({ length: 5 }, () => api.register("target")));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await create(spammer.token, { memberIds: [targets[0]!.user.id, targets[1]!.user.id] });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body.error.code).toBe("rate_limited");
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([201, 201, 201, 429]);
    expect(await api.deps.db.Conversation.countDocuments({ memberIds: new Types.ObjectId(targets[0]!.user.id) })).toBe(
      3,
    );
    // a direct chat that exists already is answered (200), never refused: it creates nothing
    const own = await api.register("own");
    expect((await create(own.token, { memberIds: [targets[2]!.user.id] })).status).toBe(201);
    for (let i = 0; i < 5; i++)
      expect((await create(own.token, { memberIds: [targets[2]!.user.id] })).status).toBe(200);
    // others are not affected by one creator's limit
    expect((await create(targets[3]!.token, { memberIds: [targets[4]!.user.id] })).status).toBe(201);
  });
});

describe("group titles (defect 14)", () => {
  test("direction overrides, isolates, zero-width and control characters are removed; nothing visible left is no title", async () => {
    const limited = await startTestApi("titles", { conversationCreateMax: 100 });
    try {
      const [a, b, c] = [await limited.register("ta"), await limited.register("tb"), await limited.register("tc")];
      const make = (title: string) =>
        limited.call("POST", "/api/conversations", {
          token: a.token,
          body: { memberIds: [b.user.id, c.user.id], title },
        });
      const spoof = await make(`\u202Eecila\u202C`);
      expect(spoof.status).toBe(201);
      expect(spoof.body.conversation.title).toBe("ecila");
      expect((await make("team\u2066 \u2069\u200Bchat\u0007")).body.conversation.title).toBe("team chat");
      expect((await make("\u200B\u200D\u2060\u200E")).body.conversation.title).toBeNull();
      // joiners stay: emoji sequences need them
      expect((await make("family 👨\u200D👩\u200D👧")).body.conversation.title).toBe("family 👨\u200D👩\u200D👧");
    } finally {
      await limited.stop();
    }
  });
});

describe("GET /api/conversations/members (what realtime follows presence for)", () => {
  test("the members of my most recent conversations and their versions, in the list's order; none I left", async () => {
    const [me, ann, ben, cat] = [
      await api.register("mem"),
      await api.register("ann"),
      await api.register("ben"),
      await api.register("cat"),
    ];
    const direct = (await create(me.token, { memberIds: [ann.user.id] })).body.conversation;
    const group = (await create(me.token, { memberIds: [ann.user.id, ben.user.id] })).body.conversation;
    const left = (await create(cat.token, { memberIds: [me.user.id, ben.user.id] })).body.conversation;
    // the group grows (its member list's version goes up), the direct chat gets the newest message
    const added = await api.call("POST", `/api/conversations/${group.id}/members`, {
      token: me.token,
      body: { memberIds: [cat.user.id] },
    });
    expect(added.status).toBe(200);
    const leave = await api.call("POST", `/api/conversations/${left.id}/leave`, {
      token: me.token,
      headers: { "content-type": "application/json" },
    });
    expect(leave.status).toBe(204);
    const sent = await api.call("POST", `/api/conversations/${direct.id}/messages`, {
      token: me.token,
      body: { body: "newest", clientId: crypto.randomUUID() },
    });
    expect(sent.status).toBe(201);

    const res = await api.call("GET", "/api/conversations/members", { token: me.token });
    expect(res.status).toBe(200);
    const list = (await api.call("GET", "/api/conversations", { token: me.token })).body.conversations as {
      id: string;
      members: { id: string }[];
      stateRev: number;
    }[];
    // the same conversations as the list's first page, in its order, with its members and versions
    expect(res.body.conversations).toEqual(
      list.map((c) => ({ id: c.id, memberIds: c.members.map((m) => m.id), stateRev: c.stateRev })),
    );
    expect(res.body.conversations.map((c: { id: string }) => c.id)).toEqual([direct.id, group.id]);
    const grown = res.body.conversations[1];
    expect(new Set(grown.memberIds)).toEqual(new Set([me.user.id, ann.user.id, ben.user.id, cat.user.id]));
    expect(grown.stateRev).toBeGreaterThan(0);

    const one = await api.call("GET", "/api/conversations/members?limit=1", { token: me.token });
    expect(one.body.conversations.map((c: { id: string }) => c.id)).toEqual([direct.id]);
  });

  test("401 without a session; a bad limit is 422", async () => {
    expect((await api.call("GET", "/api/conversations/members")).status).toBe(401);
    const me = await api.register("memq");
    for (const q of ["?limit=0", `?limit=${CONVERSATIONS_PAGE_MAX + 1}`, "?limit=x"]) {
      const bad = await api.call("GET", `/api/conversations/members${q}`, { token: me.token });
      expect({ q, status: bad.status, code: bad.body.error?.code }).toEqual({
        q,
        status: 422,
        code: "validation_failed",
      });
    }
  });
});
