/**
 * Two (then three) people in separate browsers, each on a different realtime replica: they
 * register, start a direct chat and talk both ways, form a group, and find their history
 * again after a reload.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import {
  openChat,
  register,
  sendFromComposer,
  shownBodies,
  startChat,
  uniqueName,
  waitForBodies,
} from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
const consoleErrors: string[] = [];
const pageErrors: string[] = [];
let ctxA: BrowserContext, ctxB: BrowserContext, ctxC: BrowserContext;
let a: Page, b: Page, c: Page;
const alice = uniqueName("alice");
const bob = uniqueName("bob");
const carol = uniqueName("carol");

beforeAll(async () => {
  world = await startWorld();
  [ctxA, ctxB, ctxC] = await Promise.all([
    newContext(world.browser),
    newContext(world.browser),
    newContext(world.browser),
  ]);
  [a, b, c] = await Promise.all([ctxA.newPage(), ctxB.newPage(), ctxC.newPage()]);
  for (const p of [a, b, c]) {
    p.setDefaultTimeout(15_000);
    p.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    p.on("pageerror", (e) => pageErrors.push(e.message));
  }
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

describe("chatting across replicas", () => {
  test("two users on different replicas register and talk both ways in a direct chat", async () => {
    const [r0, r1] = world.stack.realtimeUrls as [string, string];
    await register(a, r0, alice);
    await register(b, r1, bob);
    for (const p of [a, b]) await p.getByRole("status").getByText("Connected").waitFor();

    await startChat(a, [bob]);
    await a.getByRole("heading", { name: bob }).waitFor();
    await sendFromComposer(a, "Hi Bob! <b>not bold</b>");
    await waitForBodies(a, ["Hi Bob! <b>not bold</b>"]);

    // Bob sees the new conversation appear live, with an unread badge, and opens it
    await b.getByRole("button", { name: new RegExp(`^${alice}\\b.*\\b1 unread$`) }).waitFor({ timeout: 15_000 });
    await openChat(b, new RegExp(`^${alice}`));
    await waitForBodies(b, ["Hi Bob! <b>not bold</b>"]);
    // user text is text, never markup
    expect(await b.getByRole("region", { name: "Messages" }).locator("b").count()).toBe(0);

    await sendFromComposer(b, "Hello Alice");
    await sendFromComposer(b, "line one");
    await waitForBodies(a, ["Hi Bob! <b>not bold</b>", "Hello Alice", "line one"]);
    await sendFromComposer(a, "Great to see you");
    await waitForBodies(b, ["Hi Bob! <b>not bold</b>", "Hello Alice", "line one", "Great to see you"]);

    // own messages are distinct from the other side's
    const own = await a.locator("message-bubble[own]").count();
    const others = await a.locator("message-bubble:not([own])").count();
    expect([own, others]).toEqual([2, 2]);
  }, 90_000);

  test("Shift+Enter breaks the line, Enter sends", async () => {
    const box = a.getByRole("textbox", { name: "Message" });
    await box.fill("first line");
    await box.press("Shift+Enter");
    await box.pressSequentially("second line");
    await box.press("Enter");
    await waitForBodies(b, [
      "Hi Bob! <b>not bold</b>",
      "Hello Alice",
      "line one",
      "Great to see you",
      "first line\nsecond line",
    ]);
  }, 30_000);

  test("a three-member group chat works", async () => {
    await register(c, world.stack.realtimeUrls[0]!, carol);
    await startChat(c, [alice, bob], "Weekend plans");
    await sendFromComposer(c, "Who is in for a hike?");
    for (const p of [a, b]) {
      await openChat(p, /^Weekend plans/);
      await waitForBodies(p, ["Who is in for a hike?"]);
    }
    await sendFromComposer(a, "Me!");
    await sendFromComposer(b, "Count me in");
    // the two sends race: either order is right, as long as every screen shows the same one
    const shown = await waitFor("all three to show three messages", async () => {
      const all = await Promise.all([a, b, c].map(shownBodies));
      return all.every((x) => x.length === 3 && JSON.stringify(x) === JSON.stringify(all[0])) ? all[0]! : false;
    });
    expect([shown.slice(1).sort()]).toEqual([["Count me in", "Me!"]]);
    expect(shown[0]).toBe("Who is in for a hike?");
  }, 90_000);

  test("reloading the page keeps the history and the open conversation", async () => {
    await openChat(b, new RegExp(`^${alice}`));
    await b.reload();
    await waitForBodies(b, [
      "Hi Bob! <b>not bold</b>",
      "Hello Alice",
      "line one",
      "Great to see you",
      "first line\nsecond line",
    ]);
    // the list still has both conversations, newest activity first
    const names = await b
      .getByRole("list", { name: "Conversations" })
      .locator("conversation-item")
      .evaluateAll((els) => els.map((e) => (e as HTMLElement & { name: string }).name));
    expect(names).toEqual(["Weekend plans", alice]);
  }, 60_000);

  test("a draft stays with its conversation: switching conversations empties the box and Enter sends nothing", async () => {
    const box = b.getByRole("textbox", { name: "Message" });
    await openChat(b, new RegExp(`^${alice}`));
    await b.getByRole("heading", { name: alice }).waitFor();
    await box.fill("meant for Alice only");
    await openChat(b, /^Weekend plans/);
    await b.getByRole("heading", { name: "Weekend plans" }).waitFor();
    await waitFor("the group thread to show", async () => (await shownBodies(b))[0] === "Who is in for a hike?");
    expect(await box.inputValue()).toBe("");
    await box.press("Enter");
    await b.waitForTimeout(500);
    expect(await shownBodies(b)).not.toContain("meant for Alice only");
    expect(await shownBodies(c)).not.toContain("meant for Alice only");
    // back in the first conversation: nothing left over there either, nothing was sent
    await openChat(b, new RegExp(`^${alice}`));
    await b.getByRole("heading", { name: alice }).waitFor();
    expect(await box.inputValue()).toBe("");
    expect(await shownBodies(b)).not.toContain("meant for Alice only");
  }, 60_000);

  test("the page runs under the served Content-Security-Policy with no violation and no script error", async () => {
    const res = await fetch(world.stack.realtimeUrls[0]!);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(consoleErrors.filter((t) => /Content.Security.Policy|Refused to/i.test(t))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
