/**
 * The connection badge tells the truth, within two seconds: behind a load balancer in front of
 * both replicas (as the production ingress would be), first the browser going offline and
 * back while its socket survives (Chromium's offline mode does not close sockets), then a real
 * socket drop — the replica holding it is killed while no replica is reachable — and the
 * network returning.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import { startBalancer, type Balancer } from "./helpers/balancer.ts";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, uniqueName, waitForBodies } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let lb: Balancer;
let ctx: BrowserContext;
let page: Page;
let dora: ApiUser;
let conversationId: string;
/** WebSocket connections the page has opened (successful or not) */
let socketsOpened = 0;

/** the badge, by the words it shows */
const badge = (words: string | RegExp) => page.getByRole("status").getByText(words);
/** the badge reads `words` within `ms` of now */
const badgeWithin = async (words: string, ms: number) => {
  const t0 = performance.now();
  await badge(words).waitFor({ timeout: ms });
  return Math.round(performance.now() - t0);
};

beforeAll(async () => {
  world = await startWorld();
  lb = startBalancer(world.stack.realtimeUrls.map((u) => ({ host: "127.0.0.1", port: Number(new URL(u).port) })));
  ctx = await newContext(world.browser);
  page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  page.on("websocket", () => socketsOpened++);
  const kim = uniqueName("kim");
  await register(page, lb.url, kim);
  await badge("Connected").waitFor();
  dora = await ApiUser.register(world.stack.apiUrl, uniqueName("dora"));
  conversationId = (await dora.createDirect(await dora.userId(kim))).id;
  await dora.send(conversationId, "hello");
  await openChat(page, new RegExp(`^${dora.username}`));
  await waitForBodies(page, ["hello"]);
}, 120_000);

afterAll(async () => {
  lb?.stop();
  await world?.stop();
}, 60_000);

test("offline and back while the socket stays open: the badge reads Offline, then Connected within 2 s", async () => {
  await ctx.setOffline(true);
  await badge("Offline").waitFor();
  await ctx.setOffline(false);
  const ms = await badgeWithin("Connected", 2_000);
  console.log(`badge read Connected ${ms} ms after the browser was back online`);
  // and it is: a message from the other side arrives live, one sent goes out
  await dora.send(conversationId, "still here?");
  await waitForBodies(page, ["hello", "still here?"]);
  await sendFromComposer(page, "yes");
  await waitFor("the reply to reach the server", async () =>
    (await dora.messages(conversationId)).some((m) => m.body === "yes"),
  );
}, 60_000);

test("a real socket drop: the badge stops saying Connected, and says it again within 2 s of the network returning", async () => {
  const [replica] = await waitFor(
    "the page's socket to be on a replica",
    () => lb.backendsOf("GET /ws").length === 1 && lb.backendsOf("GET /ws"),
  );
  // the network is gone: nothing new gets through, and the socket's replica dies with it
  lb.hold(true);
  await world.stack.stopReplica(replica!, "SIGKILL");
  await badge(/Reconnecting|Offline/).waitFor();
  // several reconnect attempts fail while it lasts (long enough for an exponential backoff to
  // have grown far past 2 s)
  const before = socketsOpened;
  await waitFor("six failed reconnect attempts", () => socketsOpened - before >= 6, 60_000);
  expect(await badge("Connected").count()).toBe(0);

  lb.hold(false);
  const ms = await badgeWithin("Connected", 2_000);
  console.log(`badge read Connected ${ms} ms after the network returned`);
  await dora.send(conversationId, "welcome back");
  await page.getByRole("region", { name: "Messages" }).getByText("welcome back").waitFor();
  await world.stack.startReplica(replica!);
}, 90_000);
