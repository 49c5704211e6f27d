/**
 * The rest of what a person notices: clear sign-in errors (taken, wrong password, rate limit),
 * long histories that load upward, the "new messages" marker, read state, typing and presence,
 * the phone layout with its back button, keyboard use and signing out.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import type { ConversationResponse } from "@parley/contract";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, PASSWORD, openChat, register, sendFromComposer, shownBodies, uniqueName } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let ctx: BrowserContext;
let page: Page;
let origin: string;
const erin = uniqueName("erin");
let fred: ApiUser;
/** the account whose sign-in gets rate limited */
let gina: ApiUser;
let conversationId: string;

beforeAll(async () => {
  // a 130-message history is written by one script user faster than a person could type
  world = await startWorld({ apiEnv: { SEND_RATE_MAX: "100000" } });
  origin = world.stack.realtimeUrls[0]!;
  ctx = await newContext(world.browser);
  page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  fred = await ApiUser.register(world.stack.apiUrl, uniqueName("fred"));
  gina = await ApiUser.register(world.stack.apiUrl, uniqueName("gina"));
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

const formError = (p: Page) => p.getByRole("alert");

describe("signing in", () => {
  test("a taken username, a short password and a wrong password get clear messages", async () => {
    await page.goto(origin);
    await page.getByRole("tab", { name: "Create account" }).click();
    await page.getByLabel("Username").fill(fred.username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("That username is taken. Try another one.").waitFor();
    expect(await page.getByLabel("Username").getAttribute("aria-invalid")).toBe("true");

    await page.getByLabel("Username").fill(erin);
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("Use 8 to 128 characters.").waitFor();

    await page.getByRole("tab", { name: "Sign in" }).click();
    await page.getByLabel("Username").fill(gina.username);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await formError(page).getByText("Wrong username or password.").waitFor();
  }, 60_000);

  test("too many failures: the wait from Retry-After is shown and the button waits", async () => {
    for (let i = 0; i < 8; i++) {
      await page.getByRole("button", { name: "Sign in" }).click();
      // submitting clears the previous answer, so this waits for this attempt's answer
      const answer = await formError(page)
        .getByText(/Wrong username or password\.|Too many attempts/)
        .textContent();
      if (answer?.includes("Too many")) break;
    }
    await formError(page)
      .getByText(/Too many attempts\. Try again in \d+ s\./)
      .waitFor();
    expect(await page.getByRole("button", { name: "Sign in" }).isDisabled()).toBe(true);
  }, 60_000);

  test("a new account signs in, and the session survives a reload", async () => {
    await register(page, origin, erin);
    await page.reload();
    await page.getByText(`Signed in as ${erin}`).waitFor();
    await page.getByText("No conversations yet").waitFor();
  }, 30_000);
});

describe("a long conversation", () => {
  test("history loads upward page by page, in order, with no message twice", async () => {
    conversationId = (await fred.createDirect(await fred.userId(erin))).id;
    for (let i = 1; i <= 130; i++) await fred.send(conversationId, `h${i}`);
    await openChat(page, new RegExp(`^${fred.username}`));
    await waitFor("the newest page", async () => (await shownBodies(page)).at(-1) === "h130");
    expect((await shownBodies(page)).length).toBeLessThan(130);
    const all = Array.from({ length: 130 }, (_, i) => `h${i + 1}`);
    const region = page.getByRole("region", { name: "Messages" });
    await waitFor(
      "all 130 messages after scrolling up",
      async () => {
        await region.evaluate((el) => (el.scrollTop = 0));
        return (await shownBodies(page)).length >= 130;
      },
      30_000,
    ).catch(async (e) => {
      const b = await shownBodies(page);
      throw new Error(`${(e as Error).message}: ${b.length} shown, ${b.slice(0, 3)} … ${b.slice(-3)}`);
    });
    expect(await shownBodies(page)).toEqual(all);
    await page.getByText("This is the beginning of your conversation").waitFor();
  }, 90_000);

  test("a message arriving while scrolled up shows a 'New messages' marker instead of jumping", async () => {
    const region = page.getByRole("region", { name: "Messages" });
    await region.evaluate((el) => (el.scrollTop = 0));
    const top = await region.evaluate((el) => el.scrollTop);
    await fred.send(conversationId, "while you were reading");
    const marker = page.getByRole("button", { name: /New messages/ });
    await marker.waitFor();
    expect(await region.evaluate((el) => el.scrollTop)).toBe(top);
    await marker.click();
    await waitFor("the thread at the bottom", () =>
      region.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 50),
    );
    await marker.waitFor({ state: "hidden" });
  }, 30_000);

  test("what was seen is marked read on the server", async () => {
    const c = await waitFor("the server to record the read position", async () => {
      const res = await fetch(`${origin}/api/conversations/${conversationId}`, {
        headers: { cookie: (await ctx.cookies()).map((k) => `${k.name}=${k.value}`).join("; ") },
      });
      const { conversation } = (await res.json()) as ConversationResponse;
      return conversation.readSeq === conversation.lastSeq ? conversation : false;
    });
    expect(c.unread).toBe(0);
  }, 30_000);
});

describe("live signals, phone layout, keyboard", () => {
  let phone: BrowserContext;
  let p2: Page;
  test("the other side sees typing and presence; read state shows as Seen", async () => {
    phone = await newContext(world.browser, { width: 390, height: 844 });
    p2 = await phone.newPage();
    p2.setDefaultTimeout(15_000);
    await p2.goto(world.stack.realtimeUrls[1]!);
    await p2.getByRole("tab", { name: "Sign in" }).click();
    await p2.getByLabel("Username").fill(fred.username);
    await p2.getByLabel("Password").fill(PASSWORD);
    await p2.getByRole("button", { name: "Sign in" }).click();
    await p2.getByText(`Signed in as ${fred.username}`).waitFor();
    // phone: only the list
    expect(await p2.getByRole("region", { name: "Messages" }).count()).toBe(0);
    await openChat(p2, new RegExp(`^${erin}`));
    // phone: only the thread, with a way back
    expect(await p2.getByRole("list", { name: "Conversations" }).count()).toBe(0);
    await p2.getByRole("heading", { name: erin }).waitFor();
    await p2.getByText("Online", { exact: true }).waitFor();
    await page.getByText("Online", { exact: true }).waitFor();

    await p2.getByRole("textbox", { name: "Message" }).pressSequentially("are you th", { delay: 30 });
    await page.getByText(`${fred.username} is typing…`).waitFor();
    await p2.getByRole("textbox", { name: "Message" }).press("Enter");
    await page.getByRole("region", { name: "Messages" }).getByText("are you th").waitFor();
    await p2.getByText("Seen", { exact: true }).waitFor();
  }, 120_000);

  test("back button and Escape return to the list on a phone", async () => {
    await p2.getByRole("button", { name: "Back to conversations" }).click();
    await p2.getByRole("list", { name: "Conversations" }).waitFor();
    await openChat(p2, new RegExp(`^${erin}`));
    await p2.getByRole("textbox", { name: "Message" }).press("Escape");
    await p2.getByRole("list", { name: "Conversations" }).waitFor();
  }, 30_000);

  test("keyboard only: open New chat, Escape closes it, focus is visible", async () => {
    await page.getByRole("button", { name: "New chat" }).first().focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "New chat" });
    await dialog.waitFor();
    expect(
      await dialog
        .getByLabel("Find people by username")
        .evaluate((el) => el === (el.getRootNode() as ShadowRoot).activeElement),
    ).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    // Tab reaches the conversation and shows a focus ring
    const item = page.getByRole("list", { name: "Conversations" }).getByRole("button").first();
    await item.focus();
    expect(await item.evaluate((el) => getComputedStyle(el).outlineStyle)).not.toBe("none");
  }, 30_000);

  test("new messages are announced politely to screen readers", async () => {
    await openChat(p2, new RegExp(`^${erin}`));
    await sendFromComposer(p2, "announce me");
    const live = page.locator("[aria-live=polite]", { hasText: "announce me" });
    await live.waitFor({ state: "attached" });
    expect(await live.textContent()).toContain(`New message from ${fred.username}: announce me`);
  }, 30_000);

  test("signing out returns to the sign-in screen, also after a reload", async () => {
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await page.getByRole("tab", { name: "Sign in" }).waitFor();
    await page.reload();
    await page.getByRole("tab", { name: "Sign in" }).waitFor();
    await phone.close();
  }, 30_000);
});
