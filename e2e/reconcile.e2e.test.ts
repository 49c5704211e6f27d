/**
 * A live event that never arrives (Redis is at-most-once; an api process can stop between its
 * write and its publish) in a conversation where nothing else happens: the page still shows the
 * message, without a reconnect, when it reconciles with the api (periodically, and when the tab
 * comes back into view).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import mongoose, { Types } from "mongoose";
import type { BrowserContext, Page } from "playwright";
import { blockKey, blockOf, messageId, pageKey, pageOf } from "../api/src/libs/collections.ts";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, uniqueName, waitForBodies } from "./helpers/app.ts";

let world: World;
let ctx: BrowserContext;
let page: Page;
let dora: ApiUser;
let conversationId: string;
const carl = uniqueName("carl");

beforeAll(async () => {
  world = await startWorld();
  ctx = await newContext(world.browser);
  page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  await register(page, world.stack.realtimeUrls[0]!, carl);
  await page.getByRole("status").getByText("Connected").waitFor({ timeout: 30_000 });
  dora = await ApiUser.register(world.stack.apiUrl, uniqueName("dora"));
  conversationId = (await dora.createDirect(await dora.userId(carl))).id;
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

/** A message committed and recorded on its conversation whose live event was lost. */
async function commitWithoutEvent(body: string, seq: number) {
  const conn = await mongoose.createConnection(world.mongoUrl).asPromise();
  try {
    const clientId = `lost-${seq}`;
    const doc = {
      _id: messageId(conversationId, dora.id, clientId),
      conversationId: new Types.ObjectId(conversationId),
      seq,
      block: blockKey(conversationId, blockOf(seq)),
      page: pageKey(conversationId, pageOf(seq)),
      senderId: new Types.ObjectId(dora.id),
      body,
      clientId,
      createdAt: new Date(),
    };
    await conn.db!.collection("messages").insertOne(doc);
    const { conversationId: _c, block: _b, page: _p, ...lastMessage } = doc;
    await conn
      .db!.collection("conversations")
      .updateOne(
        { _id: new Types.ObjectId(conversationId) },
        { $set: { lastSeq: seq, lastMessage, lastActivityAt: doc.createdAt } },
      );
  } finally {
    await conn.close();
  }
}

test("a message whose live event was lost shows when the tab comes back into view, with no reconnect", async () => {
  await dora.send(conversationId, "first, delivered live");
  await openChat(page, new RegExp(`^${dora.username}`));
  await waitForBodies(page, ["first, delivered live"]);
  let socketsOpened = 0;
  page.on("websocket", () => socketsOpened++);

  await commitWithoutEvent("second, its event lost", 2);
  await Bun.sleep(1500);
  expect(await page.getByText("second, its event lost").count()).toBe(0); // nothing told the page yet

  // the user comes back to the tab
  await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
  await waitForBodies(page, ["first, delivered live", "second, its event lost"]);
  expect(socketsOpened).toBe(0); // the same socket all along: no reconnect did it
}, 60_000);
