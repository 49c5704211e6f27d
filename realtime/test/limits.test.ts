/**
 * Issue 10, defects 5–7 on the realtime side, with the real api and two replicas:
 *  - 5: membership is never derived from a truncated list: a conversation buried under 520
 *    newer ones still relays typing;
 *  - 6: a user holds at most WS_MAX_SOCKETS_PER_USER sockets per replica (4004, said why), and a
 *    socket's membership costs the api little: 20 open/close cycles ask for the list once;
 *  - 7: typing is limited per user across conversations, and every socket's inbound frames are
 *    limited (a flood earns a few error frames, then a 1008 close).
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import type { TypingFrame } from "@parley/contract/frames";
import { CLOSE_CODES, WS_INBOUND } from "@parley/contract/limits";
import { TYPING_PER_USER } from "../src/socket/typing.ts";
import { waitFor } from "../../scripts/lib/ports.ts";
import { connect, openSocket, type TestSocket } from "./helpers/socket.ts";
import { createConversation, register, startTestStack, type TestUser } from "./helpers/stack.ts";

setDefaultTimeout(120_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let r1: string;
let r2: string;
const MAX_SOCKETS = 4;
const sockets: TestSocket[] = [];
const open = async (url: string, u: TestUser) => {
  const s = await openSocket(url, { token: u.token });
  sockets.push(s);
  return s;
};

beforeAll(async () => {
  stack = await startTestStack("limits", { realtimeEnv: { WS_MAX_SOCKETS_PER_USER: String(MAX_SOCKETS) } });
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

/** How many times the api answered `method route` with 200 (its own /metrics). */
async function apiAnswered(method: string, route: string): Promise<number> {
  const text = await (await fetch(`${stack.apiUrl}/metrics`)).text();
  const line = text
    .split("\n")
    .find(
      (l) =>
        l.startsWith("http_request_duration_seconds_count{") &&
        l.includes(`method="${method}"`) &&
        l.includes(`route="${route}"`) &&
        l.includes('status="200"'),
    );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A realtime counter summed over both replicas (their ops ports). */
async function realtimeCounter(name: string, label: string): Promise<number> {
  let total = 0;
  for (const url of stack.realtimeOpsUrls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const l of text.split("\n"))
      if (l.startsWith(`${name}{`) && l.includes(label)) total += Number(l.split(" ").at(-1));
  }
  return total;
}

describe("membership is asked per conversation (defect 5)", () => {
  test("typing reaches the members of a conversation buried under 520 newer ones", async () => {
    const [victim, friend, spammer] = [
      await register(r1, "victim"),
      await register(r1, "friend"),
      await register(r1, "spam"),
    ];
    const helper = await register(r1, "helper");
    const real = await createConversation(r1, victim, [friend], undefined);
    // 520 newer groups with the victim in them, made while the victim is away
    for (let batch = 0; batch < 52; batch++)
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          createConversation(r1, spammer, [victim, helper], `spam ${batch * 10 + i}`),
        ),
      );
    const friendSocket = await open(r2, friend);
    const victimSocket = await open(r1, victim);
    victimSocket.send({ type: "typing", conversationId: real.id });
    const typing = await friendSocket.next<TypingFrame>((f) => f.type === "typing" && f.conversationId === real.id);
    expect(typing.userId).toBe(victim.id);
    expect(victimSocket.of("error")).toEqual([]);
  });
});

describe("sockets per user (defect 6)", () => {
  test(`a user's socket beyond ${MAX_SOCKETS} on one replica is closed with 4004 and a reason; others are not`, async () => {
    const user = await register(r1, "many");
    const mine = [];
    for (let i = 0; i < MAX_SOCKETS; i++) mine.push(await open(r1, user));
    const extra = connect(r1, { token: user.token });
    sockets.push(extra);
    const closed = await extra.closed;
    expect(closed.code).toBe(CLOSE_CODES.tooManySockets);
    expect(closed.reason).toContain("too many");
    expect(extra.frames).toEqual([]);
    // the other replica has its own allowance, and the open ones still work
    const elsewhere = await open(r2, user);
    expect(elsewhere.frames[0]).toMatchObject({ type: "ready", userId: user.id });
    for (const s of mine) expect(s.ws.readyState).toBe(WebSocket.OPEN);
    // a socket closed makes room again
    mine[0]!.close();
    await mine[0]!.closed;
    await waitFor("room for one more socket", async () => {
      const s = connect(r1, { token: user.token });
      sockets.push(s);
      const first = await Promise.race([s.next((f) => f.type === "ready", 5000).then(() => "ready"), s.closed]);
      return first === "ready";
    });
  });

  test("20 open/close cycles ask the api for the user's contacts once, not 20 times", async () => {
    const [user, peer] = [await register(r1, "cycle"), await register(r1, "peer")];
    await createConversation(r1, user, [peer]);
    // the api's counter is shared: let loads of earlier tests' first sockets (one on the other
    // replica, say, whose contacts load after its `ready`) land before counting from here
    await waitFor("no contacts request in flight from earlier tests", async () => {
      const a = await apiAnswered("GET", "/api/conversations/members");
      await Bun.sleep(300);
      return a === (await apiAnswered("GET", "/api/conversations/members"));
    });
    const before = await apiAnswered("GET", "/api/conversations/members");
    for (let i = 0; i < 20; i++) {
      const s = await open(r1, user);
      await s.next((f) => f.type === "presence" && f.userId === peer.id);
      s.close();
      await s.closed;
    }
    expect((await apiAnswered("GET", "/api/conversations/members")) - before).toBeLessThanOrEqual(1);
  });
});

describe("typing and inbound frames (defect 7)", () => {
  test(`one socket typing into 15 groups reaches a member of them all at most ${TYPING_PER_USER} times`, async () => {
    const [typist, reader] = [await register(r1, "typist"), await register(r1, "reader")];
    const others = [await register(r1, "x"), await register(r1, "y")];
    const groups = [];
    for (let i = 0; i < 15; i++) groups.push(await createConversation(r1, typist, [reader, ...others], `g${i}`));
    const readerSocket = await open(r2, reader);
    const typistSocket = await open(r1, typist);
    const refusedBefore = await realtimeCounter("realtime_typing_rejected_total", 'reason="rate_limited"');
    for (const g of groups) typistSocket.send({ type: "typing", conversationId: g.id });
    // every frame is accounted for: relayed to the reader, or refused as over the limit
    await waitFor(
      "every typing frame relayed or refused",
      async () =>
        readerSocket.of("typing").length +
          (await realtimeCounter("realtime_typing_rejected_total", 'reason="rate_limited"')) -
          refusedBefore >=
        groups.length,
      30_000,
    );
    expect(readerSocket.of("typing").length).toBeLessThanOrEqual(TYPING_PER_USER);
    expect(readerSocket.of("typing").length).toBeGreaterThanOrEqual(1);
  });

  test("a flood of bad frames earns a few error frames, then a 1008 close; others are untouched", async () => {
    const [flooder, bystander] = [await register(r1, "flood"), await register(r1, "calm")];
    const conv = await createConversation(r1, flooder, [bystander]);
    const calm = await open(r1, bystander);
    const s = await open(r1, flooder);
    const sent = WS_INBOUND.burst + 120;
    for (let i = 0; i < sent; i++) s.send(`not json ${i}`);
    const closed = await s.closed;
    expect(closed.code).toBe(CLOSE_CODES.policy);
    // three in a row, then one a second: the flood lasts well under the seconds that would add more
    expect(s.of("error").length).toBeLessThanOrEqual(5);
    // the bystander's socket still works and heard nothing of it
    expect(calm.ws.readyState).toBe(WebSocket.OPEN);
    const again = await open(r1, flooder);
    again.send({ type: "typing", conversationId: conv.id });
    await calm.next((f) => f.type === "typing" && f.userId === flooder.id);
    expect(calm.of("error")).toEqual([]);
  });
});
