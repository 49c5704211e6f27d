/**
 * Fan-out across two real replicas with the real api: a message sent over REST reaches every
 * member's sockets once, in seq order, on both replicas, and never a non-member's; typing and
 * conversation frames cross replicas too.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import type { MessageFrame, TypingFrame } from "@parley/contract/frames";
import { TYPING_RELAY_MS } from "../src/socket/typing.ts";
import { socketPool } from "./helpers/socket.ts";
import { createConversation, register, sendMessage, startTestStack } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let r1: string;
let r2: string;
const { sockets, open } = socketPool();

beforeAll(async () => {
  stack = await startTestStack("fanout");
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

describe("fan-out across replicas", () => {
  test("a message reaches every member's sockets on both replicas once each, in order, and no non-member", async () => {
    const [alice, bob, carol] = [await register(r1, "alice"), await register(r1, "bob"), await register(r1, "carol")];
    const conv = await createConversation(r1, alice, [bob], "pair");
    const aliceR1 = await open(r1, alice);
    const bobR2 = await open(r2, bob);
    const bobR1 = await open(r1, bob);
    const carolR1 = await open(r1, carol);
    const carolR2 = await open(r2, carol);

    const N = 20;
    const sent = [];
    for (let i = 1; i <= N; i++) sent.push(await sendMessage(r2, i % 2 ? alice : bob, conv.id, `hello ${i}`));

    const forConv = (f: { type: string }) =>
      f.type === "message" && (f as MessageFrame).message.conversationId === conv.id;
    for (const s of [aliceR1, bobR2, bobR1]) {
      await s.collectUntil((frames) => frames.filter(forConv).length >= N);
    }
    // a marker to the non-member proves their sockets were live while the others received
    const other = await createConversation(r1, carol, [alice], "marker");
    await carolR1.next((f) => f.type === "conversation" && f.conversation.id === other.id);
    await carolR2.next((f) => f.type === "conversation" && f.conversation.id === other.id);
    await aliceR1.next((f) => f.type === "conversation" && f.conversation.id === other.id);

    for (const s of [aliceR1, bobR2, bobR1]) {
      const seqs = s
        .of("message")
        .filter((f) => f.message.conversationId === conv.id)
        .map((f) => f.message.seq);
      expect(seqs).toEqual(sent.map((m) => m.seq));
      expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    }
    for (const s of [carolR1, carolR2]) expect(s.of("message")).toHaveLength(0);

    // read positions fan out the same way (alice has read up to her own last message, 19)
    const read = await fetch(`${r1}/api/conversations/${conv.id}/read`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" },
      body: JSON.stringify({ seq: N }),
    });
    expect(read.status).toBe(204);
    const isRead = (f: { type: string }) => f.type === "read";
    for (const s of [bobR2, bobR1, aliceR1]) {
      expect(await s.next(isRead)).toMatchObject({ type: "read", conversationId: conv.id, userId: alice.id, seq: N });
    }
    for (const s of [carolR1, carolR2]) expect(s.of("read")).toHaveLength(0);
  });

  test("typing crosses replicas, only members may type, and it is rate-limited", async () => {
    const [dan, erin, frank] = [await register(r1, "dan"), await register(r1, "erin"), await register(r1, "frank")];
    const conv = await createConversation(r1, dan, [erin], "typing");
    const danR1 = await open(r1, dan);
    const erinR2 = await open(r2, erin);
    const frankR2 = await open(r2, frank);

    // two at once: the first is relayed, the second refused with an error frame
    erinR2.send({ type: "typing", conversationId: conv.id });
    erinR2.send({ type: "typing", conversationId: conv.id });
    const typing = await danR1.next<TypingFrame>((f) => f.type === "typing");
    expect(typing).toEqual({ type: "typing", conversationId: conv.id, userId: erin.id });
    const limited = await erinR2.next((f) => f.type === "error");
    expect(limited).toMatchObject({ type: "error", code: "rate_limited" });

    // a non-member gets not_found and nothing reaches the members
    frankR2.send({ type: "typing", conversationId: conv.id });
    expect(await frankR2.next((f) => f.type === "error")).toMatchObject({ type: "error", code: "not_found" });

    // after the interval erin may type again; dan got exactly two typing frames from her, none from frank
    await Bun.sleep(TYPING_RELAY_MS + 150);
    erinR2.send({ type: "typing", conversationId: conv.id });
    await danR1.next((f) => f.type === "typing");
    expect(danR1.of("typing").map((f) => f.userId)).toEqual([erin.id, erin.id]);
    // the typist does not get their own typing frame
    expect(erinR2.of("typing")).toHaveLength(0);
  });

  test("a user added to a conversation gets it live and may type in it at once", async () => {
    const [gina, hank] = [await register(r1, "gina"), await register(r1, "hank")];
    const hankR2 = await open(r2, hank);
    const ginaR1 = await open(r1, gina);
    const conv = await createConversation(r1, gina, [hank], "added");
    const frame = await hankR2.next((f) => f.type === "conversation");
    expect(frame).toMatchObject({ type: "conversation", conversation: { id: conv.id } });
    hankR2.send({ type: "typing", conversationId: conv.id });
    expect(await ginaR1.next((f) => f.type === "typing")).toEqual({
      type: "typing",
      conversationId: conv.id,
      userId: hank.id,
    });
  });

  test("bad client frames get validation_failed and change nothing", async () => {
    const ivy = await register(r1, "ivy");
    const s = await open(r2, ivy);
    s.send("{not json");
    expect(await s.next((f) => f.type === "error")).toMatchObject({ code: "validation_failed" });
    s.send({ type: "launch", conversationId: "x" });
    expect(await s.next((f) => f.type === "error")).toMatchObject({ code: "validation_failed" });
    s.send({ type: "typing", conversationId: "not-an-id" });
    expect(await s.next((f) => f.type === "error")).toMatchObject({ code: "validation_failed" });
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
  });

  test("a frame over the limit closes the socket with 1009", async () => {
    const jack = await register(r1, "jack");
    const s = await open(r1, jack);
    s.send(JSON.stringify({ type: "typing", conversationId: "a".repeat(8000) }));
    expect((await s.closed).code).toBe(1009);
  });
});
