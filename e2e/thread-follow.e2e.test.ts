/**
 * The thread follows at the bottom: with the view at the bottom of a long conversation, a new
 * message — the other person's or one's own, short or long — scrolls fully into view with no
 * "New messages" button; only a reader who has scrolled up gets the button instead.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Locator, Page } from "playwright";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, uniqueName } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let page: Page;
let fred: ApiUser;
let conversationId: string;

beforeAll(async () => {
  // the 60-message history is written by a script faster than the send limit allows a person
  world = await startWorld({ apiEnv: { SEND_RATE_MAX: "100000" } });
  page = await (await newContext(world.browser)).newPage();
  page.setDefaultTimeout(15_000);
  const erin = uniqueName("erin");
  await register(page, world.stack.realtimeUrls[0]!, erin);
  fred = await ApiUser.register(world.stack.apiUrl, uniqueName("fred"));
  conversationId = (await fred.createDirect(await fred.userId(erin))).id;
  for (let i = 1; i <= 60; i++) await fred.send(conversationId, `history ${i}`);
  await openChat(page, new RegExp(`^${fred.username}`));
  await page.getByRole("region", { name: "Messages" }).getByText("history 60").waitFor();
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

const region = () => page.getByRole("region", { name: "Messages" });
const pill = () => page.getByRole("button", { name: /New messages/ });
const lastBubble = () => region().locator("message-bubble").last();

/** How the bubble sits in the scrolled view: px hidden below (and above) its visible part. */
async function placement(bubble: Locator) {
  const view = await region().evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect);
  const box = await bubble.evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect);
  return { hiddenBelow: Math.round(box.bottom - view.bottom), hiddenAbove: Math.round(view.top - box.top) };
}

async function expectFullyInView(bubble: Locator, what: string) {
  await waitFor(
    `${what} to be fully in view`,
    async () => {
      const p = await placement(bubble);
      return p.hiddenBelow <= 0 && p.hiddenAbove <= 0 ? p : false;
    },
    5_000,
  ).catch(async (e) => {
    throw new Error(`${(e as Error).message}; placement ${JSON.stringify(await placement(bubble))}`);
  });
  expect(await pill().count()).toBe(0);
}

test("at the bottom, the other person's new message scrolls fully into view, with no New messages button", async () => {
  await expectFullyInView(lastBubble(), "the newest history message");
  await fred.send(conversationId, "a new one from fred");
  await region().getByText("a new one from fred").waitFor();
  await expectFullyInView(lastBubble(), "fred's new message");
}, 30_000);

test("one's own message, and a long one, scroll fully into view", async () => {
  await sendFromComposer(page, "my own reply");
  await region().getByText("my own reply").waitFor();
  await expectFullyInView(lastBubble(), "my own message");
  await fred.send(conversationId, Array.from({ length: 12 }, (_, i) => `line ${i + 1} of a long answer`).join("\n"));
  await region().getByText("line 12 of a long answer").waitFor();
  await expectFullyInView(lastBubble(), "a long message");
}, 30_000);

test("several messages in a row: the view stays at the bottom", async () => {
  for (let i = 1; i <= 5; i++) await fred.send(conversationId, `quick ${i}`);
  await region().getByText("quick 5").waitFor();
  await expectFullyInView(lastBubble(), "the last of five quick messages");
}, 30_000);

test("scrolled up: a new message leaves the view where it is and shows the New messages button", async () => {
  // scrolled up, and settled where the reader left it (a render still under way when the reader
  // scrolled may end at the bottom: then they scroll up again, as a person would)
  const top = await waitFor("the view to stay scrolled up", async () => {
    await region().evaluate((el) => {
      if (el.scrollHeight - el.clientHeight - el.scrollTop < 100) el.scrollBy(0, -600);
    });
    const before = await region().evaluate((el) => el.scrollTop);
    await Bun.sleep(250);
    const after = await region().evaluate((el) => ({
      top: el.scrollTop,
      gap: el.scrollHeight - el.clientHeight - el.scrollTop,
    }));
    return after.top === before && after.gap > 100 ? after.top : false;
  });
  await fred.send(conversationId, "while you read older ones");
  await pill().waitFor();
  expect(await region().evaluate((el) => el.scrollTop)).toBe(top);
  await pill().click();
  await pill().waitFor({ state: "hidden" });
  await expectFullyInView(lastBubble(), "the message the button leads to");
}, 30_000);
