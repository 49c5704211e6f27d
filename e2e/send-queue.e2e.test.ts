/**
 * The send queue, with the server's real send limit (SEND_RATE_MAX=20 per 10 s): what a person
 * types quickly goes out in the order typed, for the sender and the receiver on another
 * replica, waiting out the limit instead of failing; a message the server refuses holds the
 * ones typed after it until it is retried (same clientId, stored once) or discarded.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Page } from "playwright";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, startChat, uniqueName, waitForBodies } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, 120_000);
afterAll(async () => {
  await world?.stop();
}, 60_000);

const isSend = (method: string, url: string) =>
  method === "POST" && /\/api\/conversations\/[0-9a-f]+\/messages$/.test(url);

async function newPage(): Promise<Page> {
  const page = await (await newContext(world.browser)).newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

const bubbles = (page: Page) => page.getByRole("region", { name: "Messages" }).locator("message-bubble");
/** The bubble whose body is exactly `text` (its time and state line are not part of the match). */
const bubble = (page: Page, text: string) =>
  bubbles(page).filter({ has: page.locator(".bubble", { hasText: new RegExp(`^${text}$`) }) });
const statuses = (page: Page) => bubbles(page).evaluateAll((els) => els.map((e) => e.getAttribute("status")));

test("a burst of 25 messages arrives in typed order on both sides, waits out the send limit, and nothing is refused", async () => {
  const [a, b] = [await newPage(), await newPage()];
  const [alice, bob] = [uniqueName("alice"), uniqueName("bob")];
  await register(a, world.stack.realtimeUrls[0]!, alice);
  await register(b, world.stack.realtimeUrls[1]!, bob);
  await startChat(a, [bob]);
  await openChat(b, new RegExp(`^${alice}`));

  const answers: number[] = [];
  a.on("response", (r) => isSend(r.request().method(), r.url()) && answers.push(r.status()));
  // what the sender sees while the burst goes out
  let sawWaiting = false;
  let sawFailed = false;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      if (await a.locator('message-bubble[wait="rate"]').count()) sawWaiting = true;
      if (await a.locator('message-bubble[status="failed"]').count()) sawFailed = true;
      await Bun.sleep(100);
    }
  })();

  const texts = Array.from({ length: 25 }, (_, i) => `burst ${i + 1}`);
  for (const text of texts) await sendFromComposer(a, text);
  try {
    await waitForBodies(a, texts, 45_000);
    await waitForBodies(b, texts, 45_000);
    await waitFor("every bubble to be sent", async () => (await statuses(a)).every((s) => s === "sent"));
  } finally {
    watching = false;
    await watcher;
  }
  expect(sawFailed).toBe(false);
  expect(answers.filter((s) => s !== 201 && s !== 429)).toEqual([]);
  // the limit was reached (20 in 10 s): the messages over it waited, and the page said so
  if (answers.includes(429)) expect(sawWaiting).toBe(true);
  console.log(`burst: ${answers.filter((s) => s === 429).length} answers 429 (waited out), ${answers.length} sends`);
  // the server numbered them in the order typed
  const cookie = (await a.context().cookies()).map((k) => `${k.name}=${k.value}`).join("; ");
  const list = (await (
    await fetch(`${world.stack.realtimeUrls[0]}/api/conversations`, { headers: { cookie } })
  ).json()) as {
    conversations: { id: string }[];
  };
  const page = (await (
    await fetch(
      `${world.stack.realtimeUrls[0]}/api/conversations/${list.conversations[0]!.id}/messages?after=0&limit=100`,
      {
        headers: { cookie },
      },
    )
  ).json()) as { messages: { body: string; seq: number }[] };
  expect(page.messages.map((m) => m.body)).toEqual(texts);
}, 120_000);

/** Answers the first send of each of `bodies` (or every send, with `always`) as the server refusing it. */
async function refuse(page: Page, bodies: string[], always = false) {
  const refused = new Map<string, string>();
  await page.route("**/api/conversations/*/messages", async (route) => {
    const req = route.request();
    const sent = req.method() === "POST" ? (req.postDataJSON() as { body: string; clientId: string }) : undefined;
    if (sent && bodies.includes(sent.body) && (always || !refused.has(sent.body))) {
      refused.set(sent.body, sent.clientId);
      return route.fulfill({
        status: 422,
        contentType: "application/json",
        body: JSON.stringify({ error: { code: "validation_failed", message: "the server refused this message" } }),
      });
    }
    return route.continue();
  });
  return refused;
}

async function chatWithScriptUser(page: Page) {
  const me = uniqueName("ivan");
  await register(page, world.stack.realtimeUrls[0]!, me);
  const jo = await ApiUser.register(world.stack.apiUrl, uniqueName("jo"));
  const conversationId = (await jo.createDirect(await jo.userId(me))).id;
  await openChat(page, new RegExp(`^${jo.username}`));
  return { jo, conversationId };
}

test("a refused message holds the ones typed after it; Retry sends it once with its clientId, then the rest in order", async () => {
  const page = await newPage();
  const { jo, conversationId } = await chatWithScriptUser(page);
  const refused = await refuse(page, ["two"]);

  for (const text of ["one", "two", "three", "four"]) await sendFromComposer(page, text);
  const failed = bubble(page, "two");
  await failed.getByRole("alert").getByText("Not sent: the server refused this message").waitFor();
  expect(await failed.getAttribute("status")).toBe("failed");
  // the ones after it wait, and say why
  for (const text of ["three", "four"]) {
    await bubble(page, text).getByText("Waiting for the message above").waitFor();
    expect(await bubble(page, text).getAttribute("status")).toBe("pending");
  }
  await waitFor("the first to be stored", async () => (await jo.messages(conversationId)).length === 1);
  expect((await jo.messages(conversationId)).map((m) => m.body)).toEqual(["one"]);

  await failed.getByRole("button", { name: "Retry" }).click();
  const texts = ["one", "two", "three", "four"];
  await waitFor("all four to be sent", async () => {
    const s = await statuses(page);
    return s.length === 4 && s.every((x) => x === "sent");
  });
  await waitForBodies(page, texts);
  const stored = await jo.messages(conversationId);
  expect(stored.map((m) => m.body)).toEqual(texts);
  // the retry kept the refused message's clientId, so the server could never store it twice
  expect(stored[1]!.clientId).toBe(refused.get("two")!);
}, 60_000);

test("Discard drops a refused message and lets the ones held behind it go", async () => {
  const page = await newPage();
  const { jo, conversationId } = await chatWithScriptUser(page);
  await refuse(page, ["x2"], true);

  for (const text of ["x1", "x2", "x3"]) await sendFromComposer(page, text);
  await bubble(page, "x2").getByRole("alert").waitFor();
  await bubble(page, "x3").getByText("Waiting for the message above").waitFor();
  await bubble(page, "x2").getByRole("button", { name: "Discard" }).click();
  await waitForBodies(page, ["x1", "x3"]);
  await waitFor("x3 to be sent", async () => (await bubble(page, "x3").getAttribute("status")) === "sent");
  expect((await jo.messages(conversationId)).map((m) => m.body)).toEqual(["x1", "x3"]);
}, 60_000);
