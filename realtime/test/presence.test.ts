/**
 * Presence across replicas, and no ghosts: a user whose replica is SIGKILLed reads offline
 * within 30 s (swept by the surviving replica); SIGTERM closes sockets with 1012 and clears
 * presence at once.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { CLOSE_CODES } from "@parley/contract/limits";
import type { PresenceFrame } from "@parley/contract/frames";
import { waitFor } from "../../scripts/lib/ports.ts";
import { socketPool } from "./helpers/socket.ts";
import { createConversation, isOnline, register, startTestStack, type TestUser } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
let r1: string;
let r2: string;
const { sockets, open } = socketPool();
const presenceOf = (u: TestUser, online: boolean) => (f: { type: string }) =>
  f.type === "presence" && (f as PresenceFrame).userId === u.id && (f as PresenceFrame).online === online;

beforeAll(async () => {
  stack = await startTestStack("presence");
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

describe("presence", () => {
  test("contacts on another replica: snapshot at open, then online and offline as they come and go", async () => {
    const [alice, bob, stranger] = [
      await register(r1, "palice"),
      await register(r1, "pbob"),
      await register(r1, "pstr"),
    ];
    await createConversation(r1, alice, [bob]);
    const aliceR1 = await open(r1, alice);
    await aliceR1.next(presenceOf(bob, false));

    const bobR2 = await open(r2, bob);
    await bobR2.next(presenceOf(alice, true)); // bob's snapshot: alice is online
    await aliceR1.next(presenceOf(bob, true)); // alice hears bob arrive on the other replica
    expect(await isOnline(r1, alice, bob)).toBe(true);

    // a second socket of bob changes nothing; closing one of two keeps him online
    const bobR1 = await open(r1, bob);
    bobR1.close();
    await bobR1.closed;
    bobR2.close();
    await aliceR1.next(presenceOf(bob, false));
    expect(
      aliceR1
        .of("presence")
        .filter((f) => f.userId === bob.id)
        .map((f) => f.online),
    ).toEqual([false, true, false]);
    expect(await isOnline(r1, alice, bob)).toBe(false);

    // someone sharing no conversation is never announced
    const strangerR2 = await open(r2, stranger);
    strangerR2.close();
    await Bun.sleep(300);
    expect(aliceR1.of("presence").some((f) => f.userId === stranger.id)).toBe(false);
  });

  test("SIGTERM closes the replica's sockets with 1012 and its users go offline at once", async () => {
    const [watcher, leaving] = [await register(r1, "pwatch"), await register(r1, "pleave")];
    await createConversation(r1, watcher, [leaving]);
    const w = await open(r1, watcher);
    const l = await open(r2, leaving);
    await w.next(presenceOf(leaving, true));

    await stack.stopReplica(1, "SIGTERM");
    expect((await l.closed).code).toBe(CLOSE_CODES.serviceRestart);
    expect(stack.children.find((c) => c.name === "realtime-2")!.proc.exitCode).toBe(0);
    await w.next(presenceOf(leaving, false), 5000);
    await stack.startReplica(1);
  });

  test("a SIGKILLed replica's users read offline within 30 s, for contacts and for GET /api/users", async () => {
    const [watcher, victim] = [await register(r1, "pw2"), await register(r1, "pvic")];
    await createConversation(r1, watcher, [victim]);
    const w = await open(r1, watcher);
    await open(r2, victim);
    await w.next(presenceOf(victim, true));
    expect(await isOnline(r1, watcher, victim)).toBe(true);

    const killedAt = Date.now();
    await stack.stopReplica(1, "SIGKILL");
    await w.next(presenceOf(victim, false), 35_000);
    await waitFor(
      "victim offline in GET /api/users",
      async () => (await isOnline(r1, watcher, victim)) === false,
      35_000,
    );
    const took = Date.now() - killedAt;
    console.log(`offline after SIGKILL seen in ${took} ms`);
    expect(took).toBeLessThan(30_000);
    await stack.startReplica(1);
  }, 60_000);
});
