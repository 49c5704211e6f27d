/**
 * Changes of messages between two people in two browsers, each on a different realtime
 * replica: edits and deletes (the list's preview follows), reactions, replies whose quote shows
 * the original (older history loaded on the way), and the offline case: one browser offline
 * while the other edits, deletes, reacts and renames; back online it shows exactly the final
 * state, the same as the other browser and the api.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import {
  ApiUser,
  apiUserOf,
  bubble,
  messageAction,
  openChat,
  register,
  sendFromComposer,
  shownThread,
  startChat,
  uniqueName,
  waitForBodies,
} from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let ctxA: BrowserContext, ctxB: BrowserContext;
let a: Page, b: Page;
let alice: ApiUser, bob: ApiUser;
const errors: string[] = [];

beforeAll(async () => {
  world = await startWorld({ apiEnv: { SEND_RATE_MAX: "100000", CHANGE_RATE_MAX: "100000", GROUP_RATE_MAX: "1000" } });
  [ctxA, ctxB] = await Promise.all([newContext(world.browser), newContext(world.browser)]);
  [a, b] = await Promise.all([ctxA.newPage(), ctxB.newPage()]);
  for (const p of [a, b]) {
    p.setDefaultTimeout(15_000);
    p.on("pageerror", (e) => errors.push(e.message));
  }
  const [r0, r1] = world.stack.realtimeUrls as [string, string];
  const names = [uniqueName("alice"), uniqueName("bob")];
  await register(a, r0, names[0]!);
  await register(b, r1, names[1]!);
  [alice, bob] = await Promise.all([apiUserOf(ctxA, world.stack.apiUrl), apiUserOf(ctxB, world.stack.apiUrl)]);
  await startChat(a, [bob.username]);
  await openChat(b, new RegExp(`^${alice.username}`));
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

const preview = (p: Page, name: string) =>
  p.getByRole("list", { name: "Conversations" }).getByRole("button", { name: new RegExp(`^${name}`) });

describe("live between two browsers", () => {
  test("an edit shows as edited, a delete leaves a 'deleted' line, and the list's preview follows", async () => {
    await sendFromComposer(a, "helo bob");
    await waitForBodies(b, ["helo bob"]);
    await messageAction(a, "helo bob", "Edit");
    const box = a.getByRole("textbox", { name: "Edit message" });
    expect(await box.inputValue()).toBe("helo bob");
    await box.fill("hello bob");
    await box.press("Enter");
    await waitForBodies(b, ["hello bob"]);
    await bubble(b, "hello bob").getByText("Edited").waitFor();
    await preview(b, alice.username).getByText("hello bob").waitFor();

    await sendFromComposer(a, "a secret I regret");
    await waitForBodies(b, ["hello bob", "a secret I regret"]);
    await messageAction(a, "a secret I regret", "Delete");
    await a.getByRole("group", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
    await waitFor("b to show the deleted line", async () => (await shownThread(b)).at(-1)?.deleted === true);
    await b.getByRole("region", { name: "Messages" }).getByText("Message deleted").waitFor();
    expect(await b.getByText("a secret I regret").count()).toBe(0);
    await preview(b, alice.username).getByText("Message deleted").waitFor();
    // and the server holds no trace of it either
    const stored = await bob.messages((await bob.conversations())[0]!.id);
    expect(stored.map((m) => [m.body, m.deleted])).toEqual([
      ["hello bob", false],
      ["", true],
    ]);
  }, 60_000);

  test("reactions show live with their counts and who reacted; pressing one's own takes it back", async () => {
    await messageAction(b, "hello bob", "React");
    await b.getByRole("button", { name: "React with 👍" }).click();
    const chip = (p: Page) => bubble(p, "hello bob").locator("reaction-bar").getByRole("button", { name: /^👍/ });
    await chip(a).waitFor();
    expect(await chip(a).getAttribute("aria-label")).toBe(`👍 1: ${bob.username}. Press to react with it too.`);
    await chip(a).click();
    await waitFor("two thumbs on b", async () => (await chip(b).getAttribute("aria-label"))?.startsWith("👍 2:"));
    expect(await chip(b).getAttribute("aria-pressed")).toBe("true");
    // any single emoji, not only the six at hand
    await messageAction(b, "hello bob", "React");
    await b.getByLabel("Another emoji").fill("🦄");
    await b.getByRole("button", { name: "Add", exact: true }).click();
    await bubble(a, "hello bob")
      .locator("reaction-bar")
      .getByRole("button", { name: /^🦄 1:/ })
      .waitFor();
    await chip(b).click();
    await waitFor("one thumb on a", async () => (await chip(a).getAttribute("aria-label"))?.startsWith("👍 1: you."));
    expect((await shownThread(a))[0]?.reactions).toBe("👍1 🦄1");
  }, 60_000);

  test("a reply quotes the original; pressing the quote shows it, loading older history", async () => {
    const id = (await bob.conversations())[0]!.id;
    // a reply in the browser to a message on screen
    await messageAction(b, "hello bob", "Reply");
    await b.getByText(`Replying to ${alice.username}`).waitFor();
    await sendFromComposer(b, "hi alice!");
    await waitFor("the quote on a", async () => (await shownThread(a)).at(-1)?.quote === "hello bob");
    // a reply to a message far up the history, which the page has not loaded
    for (let i = 0; i < 160; i++) await alice.send(id, `filler ${i}`);
    await bob.reply(id, "answering the very first one", 1);
    // a fresh page loads only the newest messages
    await a.reload();
    await waitFor("the reply on a", async () => (await shownThread(a)).at(-1)?.text === "answering the very first one");
    await waitFor("its quote fetched", async () => (await shownThread(a)).at(-1)?.quote === "hello bob");
    expect((await shownThread(a)).some((m) => m.text === "hello bob")).toBe(false);
    await bubble(a, "answering the very first one")
      .getByRole("button", { name: /^In reply to .*hello bob/ })
      .click();
    // the original itself (its replies quote its words too)
    const original = a.getByRole("region", { name: "Messages" }).locator('message-bubble[data-seq="1"]');
    await original.waitFor();
    await waitFor("the original in view", async () => {
      const box = await original.boundingBox();
      return !!box && box.y > 60 && box.y < 760;
    });
  }, 90_000);
});

describe("offline", () => {
  test("back online, a browser shows exactly what was edited, deleted, reacted to and renamed meanwhile", async () => {
    const carol = await ApiUser.register(world.stack.apiUrl, uniqueName("carol"));
    await startChat(a, [bob.username, carol.username], "Before");
    const group = (await alice.conversations()).find((c) => c.title === "Before")!.id;
    for (const text of ["first", "second", "third", "fourth"]) await sendFromComposer(a, text);
    await openChat(b, /^Before/);
    await waitForBodies(b, ["first", "second", "third", "fourth"]);

    await ctxB.setOffline(true);
    await b.getByRole("status").getByText("Offline").waitFor();
    const byText = async (t: string) => (await alice.messages(group)).find((m) => m.body === t)!.seq;
    await alice.edit(group, await byText("first"), "first, edited");
    await alice.remove(group, await byText("second"));
    await alice.react(group, await byText("third"), "🎉");
    await carol.react(group, await byText("third"), "🎉");
    await carol.react(group, await byText("fourth"), "👀");
    await alice.rename(group, "After");
    await alice.edit(group, await byText("fourth"), "fourth, edited twice");
    // what a shows once the last change (the second edit, after the rename) reached it, as b words
    // it (a reads "You renamed…")
    const final = (
      await shownThreadWhen(
        a,
        (t) =>
          t.at(-1)?.text.includes("renamed the group") === true && t.some((m) => m.text === "fourth, edited twice"),
      )
    ).map((m) => ({
      ...m,
      text: m.text.replace(/^— You /, `— ${alice.username} `),
    }));

    await ctxB.setOffline(false);
    await b.getByRole("status").getByText("Connected").waitFor({ timeout: 30_000 });
    await waitFor(
      "b to show exactly what a shows",
      async () => JSON.stringify(await shownThread(b)) === JSON.stringify(final),
      30_000,
    ).catch(async (e) => {
      throw new Error(
        `${(e as Error).message}\n a: ${JSON.stringify(final)}\n b: ${JSON.stringify(await shownThread(b))}`,
      );
    });
    expect(final.map((m) => [m.text, m.edited, m.deleted, m.reactions])).toEqual([
      ["first, edited", true, false, ""],
      ["", false, true, ""],
      ["third", false, false, "🎉2"],
      ["fourth, edited twice", true, false, "👀1"],
      [`— ${alice.username} renamed the group to “After”`, undefined, undefined, undefined],
    ]);
    await b.getByRole("heading", { name: "After" }).waitFor();
    await preview(b, "After").waitFor();
    expect(errors).toEqual([]);
  }, 90_000);
});

describe("offline, changes alone", () => {
  test("back online after edits and reactions with no new message, a browser shows them (the messages' page says a change is missing)", async () => {
    const dan = await ApiUser.register(world.stack.apiUrl, uniqueName("dan"));
    await startChat(a, [bob.username, dan.username], "Quiet");
    const group = (await alice.conversations()).find((c) => c.title === "Quiet")!.id;
    for (const text of ["one", "two"]) await sendFromComposer(a, text);
    await openChat(b, /^Quiet/);
    await waitForBodies(b, ["one", "two"]);

    await ctxB.setOffline(true);
    await b.getByRole("status").getByText("Offline").waitFor();
    const byText = async (t: string) => (await alice.messages(group)).find((m) => m.body === t)!.seq;
    await alice.edit(group, await byText("one"), "one, edited");
    await alice.react(group, await byText("two"), "👍");

    await ctxB.setOffline(false);
    await b.getByRole("status").getByText("Connected").waitFor({ timeout: 30_000 });
    await waitFor(
      "b to show the edit and the reaction",
      async () => {
        const t = await shownThread(b);
        return t.some((m) => m.text === "one, edited" && m.edited) && t.some((m) => m.reactions === "👍1");
      },
      30_000,
    );
    expect(errors).toEqual([]);
  }, 90_000);
});

/** The thread of `page` once `ready` holds of it. */
async function shownThreadWhen(page: Page, ready: (t: Awaited<ReturnType<typeof shownThread>>) => boolean) {
  return waitFor("the thread to settle", async () => {
    const t = await shownThread(page);
    return ready(t) ? t : false;
  });
}
