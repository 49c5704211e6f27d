/**
 * Group changes across two real replicas: a member who left stops receiving the group's events
 * at once, on every replica (typing relayed by a replica included) and may not type there; a
 * member added receives them at once and may type; changes of messages reach members only.
 */
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import type { ChangeFrame, MessageFrame } from "@parley/contract/frames";
import { TYPING_RELAY_MS } from "../src/socket/typing.ts";
import { socketPool } from "./helpers/socket.ts";
import { createConversation, register, sendMessage, startTestStack, type TestUser } from "./helpers/stack.ts";

setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let r1: string;
let r2: string;
const { sockets, open } = socketPool();

beforeAll(async () => {
  stack = await startTestStack("groups");
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

async function api(base: string, u: TestUser, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${u.token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status;
}

const isLine = (convId: string) => (f: { type: string }) =>
  f.type === "message" && (f as MessageFrame).message.conversationId === convId && !!(f as MessageFrame).message.system;

test("a member who left gets nothing more of the group on either replica and may not type in it", async () => {
  const [alice, bob, carol] = [await register(r1, "alice"), await register(r1, "bob"), await register(r1, "carol")];
  const conv = await createConversation(r1, alice, [bob, carol], "leaving");
  const aliceR1 = await open(r1, alice);
  const bobR1 = await open(r1, bob);
  const bobR2 = await open(r2, bob);
  const carolR2 = await open(r2, carol);
  // everyone's replica knows the group: carol's typing reaches bob on both replicas
  carolR2.send({ type: "typing", conversationId: conv.id });
  for (const s of [bobR1, bobR2, aliceR1]) await s.next((f) => f.type === "typing");

  expect(await api(r2, bob, "POST", `/conversations/${conv.id}/leave`)).toBe(204);
  for (const s of [bobR1, bobR2, aliceR1, carolR2]) await s.next(isLine(conv.id));
  const seen = [bobR1, bobR2].map((s) => s.frames.length);

  // the others go on: typing (relayed by realtime), a message, a reaction, a rename
  await Bun.sleep(TYPING_RELAY_MS + 100);
  carolR2.send({ type: "typing", conversationId: conv.id });
  aliceR1.send({ type: "typing", conversationId: conv.id });
  await carolR2.next((f) => f.type === "typing");
  const m = await sendMessage(r1, alice, conv.id, "without bob");
  expect(
    await api(r1, carol, "PUT", `/conversations/${conv.id}/messages/${m.seq}/reactions`, { emoji: "👍", on: true }),
  ).toBe(200);
  expect(await api(r2, carol, "PATCH", `/conversations/${conv.id}`, { title: "no bob" })).toBe(200);
  await aliceR1.next((f) => f.type === "change");
  await aliceR1.next((f) => isLine(conv.id)(f) && (f as MessageFrame).message.system!.action === "renamed");
  // bob may not type there any more: refused, relayed to no one
  bobR2.send({ type: "typing", conversationId: conv.id });
  expect(await bobR2.next((f) => f.type === "error")).toMatchObject({ code: "not_found" });
  // a marker in a conversation bob is still in proves his sockets were live all along
  const marker = await createConversation(r1, carol, [bob], "marker");
  for (const s of [bobR1, bobR2]) await s.next((f) => f.type === "conversation" && f.conversation.id === marker.id);
  for (const [i, s] of [bobR1, bobR2].entries()) {
    const after = s.frames.slice(seen[i]).filter((f) => f.type !== "presence");
    expect(after.map((f) => f.type)).toEqual(s === bobR2 ? ["error", "conversation"] : ["conversation"]);
  }
  expect(aliceR1.of("typing").filter((f) => f.userId === bob.id)).toHaveLength(0);
});

test("a member added gets the group's events at once on their replica and may type in it", async () => {
  const [gina, hank, ivy, mo] = (await Promise.all(["gina", "hank", "ivy", "mo"].map((n) => register(r1, n)))) as [
    TestUser,
    TestUser,
    TestUser,
    TestUser,
  ];
  const conv = await createConversation(r1, gina, [hank, mo], "adding");
  const ivyR2 = await open(r2, ivy);
  const ginaR1 = await open(r1, gina);
  expect(await api(r1, gina, "POST", `/conversations/${conv.id}/members`, { memberIds: [ivy.id] })).toBe(200);
  const line = await ivyR2.next<MessageFrame>(isLine(conv.id));
  expect(line.message.system).toMatchObject({ action: "added", userIds: [ivy.id] });
  ivyR2.send({ type: "typing", conversationId: conv.id });
  expect(await ginaR1.next((f) => f.type === "typing")).toEqual({
    type: "typing",
    conversationId: conv.id,
    userId: ivy.id,
  });
  ginaR1.send({ type: "typing", conversationId: conv.id });
  expect(await ivyR2.next((f) => f.type === "typing")).toMatchObject({ userId: gina.id });
  await sendMessage(r2, hank, conv.id, "welcome ivy");
  expect((await ivyR2.next<MessageFrame>((f) => f.type === "message")).message.body).toBe("welcome ivy");
});

test("a change of a message reaches every member's sockets on both replicas once, and no one else", async () => {
  const [jo, kim, lee] = [await register(r1, "jo"), await register(r1, "kim"), await register(r1, "lee")];
  const conv = await createConversation(r1, jo, [kim], "changes");
  const joR2 = await open(r2, jo);
  const kimR1 = await open(r1, kim);
  const kimR2 = await open(r2, kim);
  const leeR1 = await open(r1, lee);
  const m = await sendMessage(r1, jo, conv.id, "typo");
  expect(await api(r2, jo, "PATCH", `/conversations/${conv.id}/messages/${m.seq}`, { body: "fixed" })).toBe(200);
  expect(
    await api(r1, kim, "PUT", `/conversations/${conv.id}/messages/${m.seq}/reactions`, { emoji: "🎉", on: true }),
  ).toBe(200);
  for (const s of [joR2, kimR1, kimR2]) {
    const frames = await s.collectUntil((fs) => fs.filter((f) => f.type === "change").length >= 2);
    const changes = frames.filter((f): f is ChangeFrame => f.type === "change").map((f) => f.change);
    expect(changes.map((c) => [c.rev, c.kind, c.message.body, c.message.version])).toEqual([
      [1, "edit", "fixed", 1],
      [2, "reaction", "fixed", 2],
    ]);
  }
  const marker = await createConversation(r1, jo, [lee], "marker");
  await leeR1.next((f) => f.type === "conversation" && f.conversation.id === marker.id);
  expect(leeR1.of("change")).toHaveLength(0);
});
