/**
 * The hard cases, with the page behind a load balancer in front of both replicas (as the
 * production ingress would be): the replica holding the user's socket is killed while
 * messages are sent to them, and a message is written while the browser is offline. Every
 * message must show once and in order, and the offline one must reach the server once. A
 * replica killed while nothing happens to the user costs the api nothing: the marks of the
 * new `ready` say nothing was missed.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import { startBalancer, type Balancer } from "./helpers/balancer.ts";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import {
  ApiUser,
  openChat,
  register,
  sendFromComposer,
  shownBodies,
  uniqueName,
  waitForBodies,
} from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let lb: Balancer;
let ctx: BrowserContext;
let page: Page;
let dora: ApiUser;
let conversationId: string;
const carl = uniqueName("carl");

const connected = () => page.getByRole("status").getByText("Connected").waitFor({ timeout: 30_000 });
/** The replica the balancer sends the page's one socket to. */
const socketReplica = async () =>
  (
    await waitFor(
      "the page's socket to be on a replica",
      () => lb.backendsOf("GET /ws").length === 1 && lb.backendsOf("GET /ws"),
    )
  )[0]!;
/** Waits until the page's one socket is on another replica than `replica`. */
const socketMovedFrom = (replica: number) =>
  waitFor(
    "the socket to move to the other replica",
    () => {
      const on = lb.backendsOf("GET /ws");
      return on.length === 1 && on[0] !== replica;
    },
    30_000,
  );

beforeAll(async () => {
  world = await startWorld();
  lb = startBalancer(world.stack.realtimeUrls.map((u) => ({ host: "127.0.0.1", port: Number(new URL(u).port) })));
  ctx = await newContext(world.browser);
  page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  await register(page, lb.url, carl);
  await connected();
  dora = await ApiUser.register(world.stack.apiUrl, uniqueName("dora"));
  conversationId = (await dora.createDirect(await dora.userId(carl))).id;
}, 120_000);

afterAll(async () => {
  lb?.stop();
  await world?.stop();
}, 60_000);

describe("recovery", () => {
  test("a conversation started by someone else appears live and its messages arrive", async () => {
    await dora.send(conversationId, "m1");
    await openChat(page, new RegExp(`^${dora.username}`));
    await waitForBodies(page, ["m1"]);
  }, 30_000);

  test("messages sent while the user's replica is killed appear once and in order after reconnecting", async () => {
    const replica = await socketReplica();
    // nothing can reconnect until the messages are committed, so they can only arrive through the catch-up
    lb.hold(true);
    await world.stack.stopReplica(replica, "SIGKILL");
    await page
      .getByRole("status")
      .getByText(/Reconnecting|Offline/)
      .waitFor();
    const sent: string[] = [];
    for (let i = 2; i <= 8; i++) {
      sent.push(`m${i}`);
      await dora.send(conversationId, `m${i}`);
    }
    const t0 = performance.now();
    lb.hold(false);
    // the page reconnects through the balancer to the surviving replica and fetches the gap
    await socketMovedFrom(replica);
    await connected();
    await waitForBodies(page, ["m1", ...sent], 30_000);
    console.log(
      `after the crash: reconnected and caught up ${sent.length} messages ${Math.round(performance.now() - t0)} ms after the ingress had a backend again`,
    );
    // and stays so: nothing arrives twice later (e.g. a late live frame after the catch-up)
    await dora.send(conversationId, "m9");
    await waitForBodies(page, ["m1", ...sent, "m9"]);
    await world.stack.startReplica(replica);
  }, 90_000);

  test("a replica shutting down gracefully (close 1012): the page moves to the other one promptly and misses nothing", async () => {
    await connected();
    const replica = await socketReplica();
    const t0 = performance.now();
    const stopping = world.stack.stopReplica(replica, "SIGTERM");
    await dora.send(conversationId, "during the restart");
    await socketMovedFrom(replica);
    await connected();
    console.log(`reconnected after a graceful shutdown in ${Math.round(performance.now() - t0)} ms`);
    await stopping;
    await waitForBodies(page, ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "during the restart"]);
    await world.stack.startReplica(replica);
  }, 90_000);

  test("a message written offline shows as pending, is retried when back online, and arrives once", async () => {
    await connected();
    await ctx.setOffline(true);
    await sendFromComposer(page, "sent while offline");
    const bubble = page
      .getByRole("region", { name: "Messages" })
      .locator("message-bubble", { hasText: "sent while offline" });
    await bubble.getByText(/Sending…|Waiting for connection/).waitFor();
    expect(await bubble.getAttribute("status")).toBe("pending");
    await ctx.setOffline(false);
    await waitFor(
      "the offline message to be sent",
      async () => (await bubble.getAttribute("status")) === "sent",
      30_000,
    );
    const expected = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "during the restart", "sent while offline"];
    await waitForBodies(page, expected);
    // the server has it exactly once
    const stored = (await dora.messages(conversationId)).map((m) => m.body);
    expect(stored).toEqual(expected);
    // Dora answers; the answer shows after it, once
    await dora.send(conversationId, "got it");
    await waitForBodies(page, [...expected, "got it"]);
    expect((await shownBodies(page)).length).toBe(12);
  }, 90_000);

  test("a message left pending when the tab closed is sent once by the next visit", async () => {
    await ctx.setOffline(true);
    await sendFromComposer(page, "written before closing");
    const bubble = page
      .getByRole("region", { name: "Messages" })
      .locator("message-bubble", { hasText: "written before closing" });
    await bubble.getByText(/Sending…|Waiting for connection/).waitFor();
    await page.close();
    expect((await dora.messages(conversationId)).map((m) => m.body)).not.toContain("written before closing");
    await ctx.setOffline(false);
    page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${lb.url}/#/c/${conversationId}`);
    await waitFor("the server to have it", async () =>
      (await dora.messages(conversationId)).some((m) => m.body === "written before closing"),
    );
    const bodies = (await dora.messages(conversationId)).map((m) => m.body);
    expect(bodies.filter((b) => b === "written before closing")).toHaveLength(1);
    await waitForBodies(page, bodies);
  }, 60_000);

  test("a replica killed while nothing happens to the user: the page reconnects and asks the api for nothing (its marks say it missed nothing), and the next message arrives live", async () => {
    await connected();
    const bodies = (await dora.messages(conversationId)).map((m) => m.body);
    await waitForBodies(page, bodies);
    // the page's own read of those messages is an event to the user too: let it be published first
    await waitFor("the page's read to be committed", () =>
      page.evaluate(async (id) => {
        const list = (await (await fetch("/api/conversations")).json()) as {
          conversations: { id: string; unread: number }[];
        };
        return list.conversations.find((c) => c.id === id)?.unread === 0;
      }, conversationId),
    );
    await Bun.sleep(500);
    // the periodic reconcile runs only while the tab is visible: hidden, every request seen is the reconnect's
    await page.evaluate(() =>
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" }),
    );
    const asked: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => {
      if (r.method() === "GET" && new URL(r.url()).pathname.startsWith("/api/")) asked.push(new URL(r.url()).pathname);
    };
    page.on("request", onRequest);
    try {
      const replica = await socketReplica();
      await world.stack.stopReplica(replica, "SIGKILL");
      await socketMovedFrom(replica);
      await connected();
      await dora.send(conversationId, "after a quiet reconnect");
      await waitForBodies(page, [...bodies, "after a quiet reconnect"]);
      expect(asked).toEqual([]);
      await world.stack.startReplica(replica);
    } finally {
      page.off("request", onRequest);
      await page.evaluate(() => Reflect.deleteProperty(document, "visibilityState"));
    }
  }, 90_000);
});
