/**
 * What a screen reader gets, from Chromium's own accessibility tree, and what axe-core finds:
 * the landmarks of each screen (one main, one banner, the sidebar as navigation), messages
 * whose accessible text says who wrote them and when (so one's own are told from the other
 * person's), a "Seen" marker that stays with its message, no console error for the expected
 * signed-out 401, one request per page of messages, and no serious or critical axe finding on
 * the sign-in screen, the conversation list and an open conversation (desktop and phone), and
 * a conversation with everything a message can carry (reactions, a reply, an edit, a delete, a
 * mention, a system line) with its controls, the reaction picker, the group dialog and the @
 * suggestions open.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright";
import { axTree, blocking, closest, landmarkCounts, runAxe, textOf, type AxNode } from "./helpers/a11y.ts";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, uniqueName, waitForBodies } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

let world: World;
let browser: Browser;
let origin: string;
let page: Page;
const uma = uniqueName("uma");
let vic: ApiUser;
let wes: ApiUser;
let direct: string;
let group: string;

beforeAll(async () => {
  world = await startWorld();
  browser = world.browser;
  origin = world.stack.realtimeUrls[0]!;
}, 120_000);
afterAll(async () => {
  await world?.stop();
}, 60_000);

/** Fails with the list of blocking findings, so the report says what to fix. */
async function expectNoBlockingAxe(p: Page, screen: string) {
  const found = await runAxe(p);
  const bad = blocking(found);
  const others = found.filter((v) => !bad.includes(v));
  if (others.length)
    console.log(`axe, ${screen}, minor/moderate: ${others.map((v) => `${v.id} (${v.impact})`).join(", ")}`);
  expect(bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.targets.join(" ")}`)).toEqual([]);
}

describe("signed out", () => {
  test("loading the page signed out logs no console error (the expected 401 of /api/me)", async () => {
    const ctx = await newContext(browser);
    const p = await ctx.newPage();
    const errors: string[] = [];
    p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    p.on("pageerror", (e) => errors.push(e.message));
    await p.goto(origin);
    await p.getByRole("tab", { name: "Sign in" }).waitFor();
    await p.waitForLoadState("networkidle");
    await p.reload();
    await p.getByRole("tab", { name: "Sign in" }).waitFor();
    await p.waitForLoadState("networkidle");
    expect(errors).toEqual([]);
    await ctx.close();
  }, 30_000);

  test("the sign-in screen: one main landmark, no blocking axe finding (light, dark, phone)", async () => {
    for (const opts of [{}, { dark: true }, { width: 390, height: 844 }]) {
      const ctx = await newContext(browser, opts);
      const p = await ctx.newPage();
      await p.goto(origin);
      await p.getByRole("tab", { name: "Sign in" }).waitFor();
      expect(landmarkCounts(await axTree(p)).main).toBe(1);
      await expectNoBlockingAxe(p, `sign-in ${JSON.stringify(opts)}`);
      await ctx.close();
    }
  }, 60_000);
});

describe("signed in", () => {
  beforeAll(async () => {
    page = await (await newContext(browser)).newPage();
    page.setDefaultTimeout(15_000);
    await register(page, origin, uma);
    [vic, wes] = await Promise.all([
      ApiUser.register(world.stack.apiUrl, uniqueName("vic")),
      ApiUser.register(world.stack.apiUrl, uniqueName("wes")),
    ]);
    const umaId = await vic.userId(uma);
    direct = (await vic.createDirect(umaId)).id;
    group = (await wes.createConversation([umaId, vic.id], "Book club")).id;
    await wes.send(group, "Chapter 3 tonight?");
    await vic.send(direct, "hello uma");
    await page
      .getByRole("list", { name: "Conversations" })
      .getByRole("button", { name: /Book club/ })
      .waitFor();
  }, 60_000);

  test("the conversation list: a banner, the sidebar as navigation, one main, no blocking axe finding", async () => {
    const counts = landmarkCounts(await axTree(page));
    expect(counts).toMatchObject({ banner: 1, main: 1 });
    expect((counts.navigation ?? 0) + (counts.complementary ?? 0)).toBe(1);
    await expectNoBlockingAxe(page, "conversation list");
  }, 30_000);

  test("opening a chat requests each page of messages once", async () => {
    const pages: string[] = [];
    page.on("request", (r) => r.method() === "GET" && r.url().includes("/messages") && pages.push(r.url()));
    await openChat(page, new RegExp(`^${vic.username}`));
    await waitForBodies(page, ["hello uma"]);
    await openChat(page, /^Book club/);
    await waitForBodies(page, ["Chapter 3 tonight?"]);
    await page.waitForLoadState("networkidle");
    expect(pages.filter((u, i) => pages.indexOf(u) !== i)).toEqual([]);
    expect(pages.length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  test("an open conversation: one main, one banner, the sidebar as navigation, no blocking axe finding", async () => {
    await openChat(page, new RegExp(`^${vic.username}`));
    await sendFromComposer(page, "hi vic");
    await waitForBodies(page, ["hello uma", "hi vic"]);
    // a message still being sent is drawn faded on purpose: judge the page once it is sent
    await page.locator('message-bubble[status="pending"]').waitFor({ state: "detached" });
    const counts = landmarkCounts(await axTree(page));
    expect(counts).toMatchObject({ banner: 1, main: 1 });
    expect((counts.navigation ?? 0) + (counts.complementary ?? 0)).toBe(1);
    await expectNoBlockingAxe(page, "open conversation");
    // a group, where others' names and avatars are shown
    await openChat(page, /^Book club/);
    await waitForBodies(page, ["Chapter 3 tonight?"]);
    await expectNoBlockingAxe(page, "open group conversation");
    // and the dark theme
    await page.emulateMedia({ colorScheme: "dark" });
    await expectNoBlockingAxe(page, "open group conversation, dark");
    await page.emulateMedia({ colorScheme: "light" });
    await openChat(page, new RegExp(`^${vic.username}`));
    await waitForBodies(page, ["hello uma", "hi vic"]);
  }, 30_000);

  test("each message's accessible text carries its sender and time; Seen stays with its message", async () => {
    // vic reads uma's reply, then writes again: the marker sits between two messages
    const stored = await waitFor("uma's reply to be stored", async () => {
      const ms = await vic.messages(direct);
      return ms.length === 2 && ms;
    });
    await vic.read(direct, stored[1]!.seq);
    await page.getByRole("region", { name: "Messages" }).getByText("Seen", { exact: true }).waitFor();
    await vic.send(direct, "back online");
    await waitForBodies(page, ["hello uma", "hi vic", "back online"]);

    const messages = await vic.messages(direct);
    const times = await page.evaluate(
      (isos) =>
        isos.map((iso) =>
          new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso)),
        ),
      messages.map((m) => m.createdAt),
    );
    const nodes = await axTree(page);
    const region = nodes.find((n) => n.role?.value === "region" && n.name?.value === "Messages")!;
    const inRegion = (n: AxNode) => closest(nodes, n, ["region"]) === region;
    const articles = nodes.filter((n) => n.role?.value === "article" && inRegion(n));
    const texts = articles.map((a) => `${a.name?.value ?? ""} ${textOf(nodes, a)}`.trim());
    expect(texts).toHaveLength(3);
    messages.forEach((m, i) => {
      const who = m.senderId === vic.id ? vic.username : "You";
      expect(texts[i]).toContain(who);
      expect(texts[i]).toContain(times[i]!);
      expect(texts[i]).toContain(m.body);
      // one's own are told from the other person's
      if (who === "You") expect(texts[i]).not.toContain(vic.username);
    });
    // "Seen" belongs to uma's own message, apart from vic's next one
    const seen = nodes.filter((n) => n.role?.value === "StaticText" && /\bSeen\b/.test(n.name?.value ?? ""));
    expect(seen).toHaveLength(1);
    expect(closest(nodes, seen[0]!, ["article"])).toBe(articles[1]);
    expect(texts[2]).not.toContain("Seen");
  }, 30_000);

  test("reactions, a reply, an edit, a delete, a mention, a system line, and their controls: no blocking axe finding, reachable by keyboard", async () => {
    const seqOf = async (body: string) => (await wes.messages(group)).find((m) => m.body === body)!.seq;
    await vic.send(group, `@${uma} did you finish it?`);
    await wes.call("PUT", `/conversations/${group}/messages/${await seqOf("Chapter 3 tonight?")}/reactions`, {
      emoji: "📚",
      on: true,
    });
    const typo = await wes.send(group, "Chaptr 4 next week");
    await wes.call("PATCH", `/conversations/${group}/messages/${typo.seq}`, { body: "Chapter 4 next week" });
    const gone = await vic.send(group, "spoiler!");
    await vic.call("DELETE", `/conversations/${group}/messages/${gone.seq}`);
    await wes.call("PATCH", `/conversations/${group}`, { title: "Book club 📖" });
    await wes.reply(group, "no spoilers please", await seqOf("Chapter 3 tonight?"));
    await openChat(page, /^Book club/);
    await page.getByRole("region", { name: "Messages" }).getByText("no spoilers please").waitFor();
    await page.getByRole("region", { name: "Messages" }).getByText("Message deleted").waitFor();
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await expectNoBlockingAxe(page, `a conversation with everything, ${scheme}`);
    }
    await page.emulateMedia({ colorScheme: "light" });
    // keyboard: focus moves from the message list into a message's controls, which show
    const react = page.getByRole("button", { name: new RegExp(`^React to ${wes.username}’s message`) }).first();
    await react.focus();
    expect(
      await react.evaluate(
        (el) =>
          getComputedStyle(el.getRootNode() instanceof ShadowRoot ? (el.getRootNode() as ShadowRoot).host : el).opacity,
      ),
    ).toBe("1");
    await page.keyboard.press("Enter");
    await page.getByRole("group", { name: "Reactions" }).waitFor();
    await expectNoBlockingAxe(page, "the reaction picker");
    await page.keyboard.press("Escape");
    await page.getByRole("group", { name: "Reactions" }).waitFor({ state: "detached" });
    await page.getByRole("textbox", { name: "Message" }).fill("@");
    await page.getByRole("listbox", { name: "Members to mention" }).waitFor();
    await expectNoBlockingAxe(page, "the @ suggestions");
    await page.getByRole("textbox", { name: "Message" }).fill("");
    await page.getByRole("button", { name: "Group options" }).click();
    await page.getByRole("button", { name: "Add people" }).click();
    await page.getByRole("dialog", { name: "Add people" }).waitFor();
    await expectNoBlockingAxe(page, "the add people dialog");
    await page.keyboard.press("Escape");
  }, 60_000);

  test("on a phone: the list screen has a banner and one main, the conversation one main; no blocking axe finding", async () => {
    const phone = await newContext(browser, { width: 390, height: 844, from: page.context() });
    const p = await phone.newPage();
    p.setDefaultTimeout(15_000);
    await p.goto(origin);
    await p.getByRole("list", { name: "Conversations" }).waitFor();
    const list = landmarkCounts(await axTree(p));
    expect(list).toMatchObject({ banner: 1, main: 1 });
    await expectNoBlockingAxe(p, "phone list");
    await openChat(p, new RegExp(`^${vic.username}`));
    await waitForBodies(p, ["hello uma", "hi vic", "back online"]);
    expect(landmarkCounts(await axTree(p)).main).toBe(1);
    await expectNoBlockingAxe(p, "phone conversation");
    await phone.close();
  }, 60_000);
});
