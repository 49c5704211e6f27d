/**
 * Groups, mentions and notifications between two people in two browsers on different realtime
 * replicas: renaming, adding people and leaving show as system lines in order; the one who left
 * loses the group at once and hears nothing more of it; `@` suggests members and a mention is
 * marked and counted apart for the one named; a hidden page is notified of direct messages and
 * mentions (permission asked only after a click), counts unread in its title, and a muted
 * conversation neither notifies nor shows bold, but still counts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { BrowserContext, Page } from "playwright";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import {
  ApiUser,
  apiUserOf,
  bubble,
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
let alice: ApiUser, bob: ApiUser, carol: ApiUser, dave: ApiUser;

/**
 * Instruments the page's browser APIs (not Parley): records notifications shown and
 * permission requests, and lets the test say whether the page is hidden.
 */
const INSTRUMENT = () => {
  const w = window as unknown as Record<string, unknown>;
  w.__notes = [];
  w.__asked = 0;
  const Real = window.Notification;
  const Recorder = function (this: unknown, title: string, opts?: NotificationOptions) {
    (w.__notes as unknown[]).push({ title, body: opts?.body ?? "" });
    return new Real(title, opts);
  } as unknown as typeof Notification;
  Object.defineProperty(Recorder, "permission", { get: () => Real.permission });
  Recorder.requestPermission = (...args: Parameters<typeof Real.requestPermission>) => {
    (w.__asked as number)++;
    return Real.requestPermission(...args);
  };
  window.Notification = Recorder;
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", { get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(Document.prototype, "hidden", { get: () => hidden });
  w.__setHidden = (h: boolean) => {
    hidden = h;
    document.dispatchEvent(new Event("visibilitychange"));
  };
};

beforeAll(async () => {
  world = await startWorld({ apiEnv: { SEND_RATE_MAX: "100000", GROUP_RATE_MAX: "1000" } });
  [ctxA, ctxB] = await Promise.all([newContext(world.browser), newContext(world.browser)]);
  await ctxB.addInitScript(INSTRUMENT);
  [a, b] = await Promise.all([ctxA.newPage(), ctxB.newPage()]);
  for (const p of [a, b]) p.setDefaultTimeout(15_000);
  const [r0, r1] = world.stack.realtimeUrls as [string, string];
  await register(a, r0, uniqueName("alice"));
  await register(b, r1, uniqueName("bob"));
  [alice, bob] = await Promise.all([apiUserOf(ctxA, world.stack.apiUrl), apiUserOf(ctxB, world.stack.apiUrl)]);
  [carol, dave] = await Promise.all([
    ApiUser.register(world.stack.apiUrl, uniqueName("carol")),
    ApiUser.register(world.stack.apiUrl, uniqueName("dave")),
  ]);
}, 120_000);

afterAll(async () => {
  await world?.stop();
}, 60_000);

const lines = async (p: Page) => (await shownThread(p)).filter((m) => m.text.startsWith("— ")).map((m) => m.text);
const listItem = (p: Page, name: string | RegExp) =>
  p.getByRole("list", { name: "Conversations" }).getByRole("button", { name });

describe("group management", () => {
  let group: string;

  test("renaming and adding people show as system lines, in order with the messages, on both sides", async () => {
    await startChat(a, [bob.username, carol.username], "Trio");
    group = (await alice.conversations()).find((c) => c.title === "Trio")!.id;
    await sendFromComposer(a, "welcome to the trio");
    await openChat(b, /^Trio/);
    await waitForBodies(b, ["welcome to the trio"]);

    await a.getByRole("button", { name: "Group options" }).click();
    await a.getByRole("button", { name: "Rename group" }).click();
    await a.getByRole("dialog", { name: "Rename group" }).getByLabel("Group name").fill("Lunch trio");
    await a.getByRole("dialog", { name: "Rename group" }).getByRole("button", { name: "Save" }).click();
    await b.getByRole("heading", { name: "Lunch trio" }).waitFor();

    await a.getByRole("button", { name: "Group options" }).click();
    await a.getByRole("button", { name: "Add people" }).click();
    const add = a.getByRole("dialog", { name: "Add people" });
    await add.getByLabel("Find people by username").fill(dave.username);
    await add.getByRole("button", { name: dave.username }).click();
    await add.getByRole("button", { name: "Add", exact: true }).click();
    await add.waitFor({ state: "hidden" });
    await sendFromComposer(b, "hi dave");

    const expected = (me: "alice" | "bob") => [
      "welcome to the trio",
      `— ${me === "alice" ? "You" : alice.username} renamed the group to “Lunch trio”`,
      `— ${me === "alice" ? "You" : alice.username} added ${dave.username}`,
      "hi dave",
    ];
    for (const [p, me] of [
      [a, "alice"],
      [b, "bob"],
    ] as const)
      await waitFor(`${me}'s thread`, async () => {
        const shown = (await shownThread(p)).map((m) => m.text);
        return JSON.stringify(shown) === JSON.stringify(expected(me));
      });
    await listItem(b, /^Lunch trio/).waitFor();
    // dave, who was not there, finds the group with the line that added him unread
    const [seen] = (await dave.conversations()).filter((c) => c.id === group);
    expect(seen).toMatchObject({ title: "Lunch trio", unread: 2 });
  }, 60_000);

  test("the one who leaves loses the group at once; the others see it; nothing of it reaches them again", async () => {
    await b.getByRole("button", { name: "Group options" }).click();
    await b.getByRole("button", { name: "Leave group" }).click();
    await b.getByRole("dialog", { name: "Leave group?" }).getByRole("button", { name: "Leave group" }).click();
    await listItem(b, /^Lunch trio/).waitFor({ state: "detached" });
    await waitFor("a to see bob leave", async () => (await lines(a)).at(-1) === `— ${bob.username} left`).catch(
      async (e) => {
        throw new Error(`${e}: ${JSON.stringify(await shownThread(a))}`);
      },
    );
    await a.getByText(`4 members: ${[alice, carol, dave].map((u) => (u === alice ? "you" : u.username)).join(", ")}`);

    await sendFromComposer(a, "after bob left");
    await carol.react(group, 1, "🎉");
    await alice.rename(group, "Duo and a half");
    await waitFor("a's rename", async () => (await lines(a)).at(-1)?.includes("Duo and a half"));
    // a message to bob elsewhere, published after all that, proves b's socket was listening
    await alice.send((await alice.createDirect(bob.id)).id, "are you still there?");
    await listItem(b, new RegExp(`^${alice.username}`))
      .getByText("are you still there?")
      .waitFor();
    expect(await b.getByText("after bob left").count()).toBe(0);
    expect(await listItem(b, /Duo and a half/).count()).toBe(0);
    await expect(bob.call("GET", `/conversations/${group}`)).rejects.toThrow(/404/);
  }, 60_000);
});

describe("mentions", () => {
  test("@ suggests members; the one named sees the mention marked and counted apart from unread", async () => {
    await startChat(a, [bob.username, carol.username], "Planning");
    const box = a.getByRole("textbox", { name: "Message" });
    await box.pressSequentially(`are you in, @${bob.username.slice(0, 3)}`);
    const options = a.getByRole("listbox", { name: "Members to mention" }).getByRole("option");
    await waitFor("bob suggested", async () => (await options.allTextContents()).includes(`@${bob.username}`));
    expect(await options.allTextContents()).not.toContain(`@${alice.username}`);
    await box.press("Enter");
    expect(await box.inputValue()).toBe(`are you in, @${bob.username} `);
    await box.press("Enter");
    await sendFromComposer(a, "no mention here");

    const row = listItem(b, /^Planning/);
    await row.getByText(/^@/).waitFor();
    // the second message may reach b a moment after the first
    await row.getByText("2 unread").waitFor();
    expect(await row.getAttribute("class")).toBe("unread");
    expect(await row.textContent()).toContain("1 mention");
    await openChat(b, /^Planning/);
    const mentioned = bubble(b, "are you in");
    expect(await mentioned.getAttribute("mentioned")).not.toBeNull();
    expect(await mentioned.locator(".mention.me").textContent()).toBe(`@${bob.username}`);
    expect(await bubble(b, "no mention here").getAttribute("mentioned")).toBeNull();
  }, 60_000);
});

describe("notifications", () => {
  const notes = () => b.evaluate(() => (window as unknown as { __notes: { title: string; body: string }[] }).__notes);
  const hide = (h: boolean) =>
    b.evaluate((x) => (window as unknown as { __setHidden(h: boolean): void }).__setHidden(x), h);

  test("asked for only after a click; a hidden page is notified of direct messages and mentions and counts unread in its title", async () => {
    expect(await b.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(0);
    await ctxB.grantPermissions(["notifications"]);
    await b.getByRole("button", { name: "Turn on notifications" }).click();
    await b.getByRole("button", { name: "Turn on notifications" }).waitFor({ state: "detached" });
    expect(await b.evaluate(() => (window as unknown as { __asked: number }).__asked)).toBe(1);

    const direct = (await alice.createDirect(bob.id)).id;
    const planning = (await alice.conversations()).find((c) => c.title === "Planning")!.id;
    await openChat(b, new RegExp(`^${alice.username}`));
    await waitFor("everything read while visible", async () => (await b.title()) === "Parley");
    await hide(true);
    await alice.send(direct, "ping from alice");
    await alice.send(planning, "a group message naming no one");
    await alice.send(planning, `@${bob.username} a group message for bob`);
    await waitFor("two notifications", async () => (await notes()).length === 2);
    expect(await notes()).toEqual([
      { title: alice.username, body: "ping from alice" },
      { title: `${alice.username} in Planning`, body: `@${bob.username} a group message for bob` },
    ]);
    await waitFor("the unread total in the title", async () => (await b.title()) === "(3) Parley").catch(async (e) => {
      throw new Error(`${e}: ${await b.title()} ${await b.getByRole("list", { name: "Conversations" }).textContent()}`);
    });
    await hide(false);
    await waitFor("the open chat read", async () => (await b.title()) === "(2) Parley");
  }, 60_000);

  test("a muted conversation neither notifies nor shows bold, but still counts", async () => {
    await b.getByRole("button", { name: "Mute this conversation" }).click();
    await waitFor(
      "muted",
      async () =>
        (await b.getByRole("button", { name: "Mute this conversation" }).getAttribute("aria-pressed")) === "true",
    );
    await openChat(b, /^Planning/);
    await waitFor("everything read while visible", async () => (await b.title()) === "Parley");
    await hide(true);
    const direct = (await alice.createDirect(bob.id)).id;
    await alice.send(direct, "you will not be bothered");
    const row = listItem(b, new RegExp(`^${alice.username}`));
    await row.getByText("1 unread").waitFor({ state: "attached" });
    expect(await row.getAttribute("class")).toBe("");
    expect(await row.textContent()).toContain("muted");
    await waitFor("still counted in the title", async () => (await b.title()) === "(1) Parley");
    // a mention elsewhere, which does notify, comes after it on the same socket
    const planning = (await alice.conversations()).find((c) => c.title === "Planning")!.id;
    await alice.send(planning, `@${bob.username} after the muted one`);
    await waitFor("the mention's notification", async () =>
      (await notes()).some((n) => n.body.endsWith("after the muted one")),
    );
    expect((await notes()).map((n) => n.body)).not.toContain("you will not be bothered");
    await hide(false);
  }, 60_000);
});
