/**
 * Writes the README's screenshots to docs/screenshots/: the sign-in screen and a conversation
 * with several messages, at desktop (1280×800) and phone (390×844) size, light, plus dark; and
 * a group whose thread has reactions, a reply, an edited and a deleted message, a mention and
 * system lines, with the @ suggestions and a message's controls open.
 * Emoji need a colour emoji font (Debian: fonts-noto-color-emoji, which .ci/run installs).
 * Run: node_modules/.bin/bun e2e/screenshots.ts
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright";
import { ROOT } from "../scripts/lib/infra.ts";
import { ApiUser, bubble, messageAction, openChat, register, sendFromComposer, waitForBodies } from "./helpers/app.ts";
import { newContext, startWorld } from "./helpers/stack.ts";

const out = join(ROOT, "docs/screenshots");
mkdirSync(out, { recursive: true });
const world = await startWorld({ apiEnv: { GROUP_RATE_MAX: "100", CHANGE_RATE_MAX: "100" } });
try {
  const origin = world.stack.realtimeUrls[0]!;
  const shot = async (page: Page, name: string) => {
    await page.waitForTimeout(300); // let fonts and the last frame settle; not a test
    await page.screenshot({ path: join(out, name) });
    console.log(`docs/screenshots/${name}`);
  };

  // sign-in screens
  for (const [w, h, name, dark] of [
    [1280, 800, "signin-desktop.png", false],
    [390, 844, "signin-phone.png", false],
    [1280, 800, "signin-desktop-dark.png", true],
  ] as const) {
    const ctx = await newContext(world.browser, { width: w, height: h, dark });
    const p = await ctx.newPage();
    await p.goto(origin);
    await p.getByRole("tab", { name: "Sign in" }).waitFor();
    await shot(p, name);
    await ctx.close();
  }

  // a brand-new account: the empty state, then the New chat dialog
  {
    const ctx0 = await newContext(world.browser);
    const p0 = await ctx0.newPage();
    await register(p0, origin, `zoe_${Math.random().toString(36).slice(2, 5)}`);
    await p0.getByText("No conversations yet").waitFor();
    await p0.getByRole("status").getByText("Connected").waitFor();
    await shot(p0, "empty-desktop.png");
    await ctx0.close();
  }

  // a lived-in account: a group and a few direct chats
  const suffix = Math.random().toString(36).slice(2, 5);
  const [leo, sam, priya, noor] = await Promise.all(
    ["leo", "sam", "priya", "noor"].map((n) => ApiUser.register(world.stack.apiUrl, `${n}_${suffix}`)),
  );
  const ctx = await newContext(world.browser);
  const page = await ctx.newPage();
  const maya = `maya_${suffix}`;
  await register(page, origin, maya);
  const mayaId = await leo!.userId(maya);
  const group = (await leo!.createConversation([mayaId, sam!.id, priya!.id], "Design crew")).id;
  const dmNoor = (await noor!.createDirect(mayaId)).id;
  await noor!.send(dmNoor, "Are we still on for lunch tomorrow?");
  const dmSam = (await sam!.createDirect(mayaId)).id;
  await sam!.send(dmSam, "Sent you the invoice, thanks again!");
  await leo!.send(group, "Morning all! The new onboarding mocks are in the shared folder.");
  await sam!.send(group, "Nice — the empty states look so much friendlier now.");
  await priya!.send(group, "Agreed. One thing: can we bump the contrast on the secondary buttons?");
  await openChat(page, /^Design crew/);
  await sendFromComposer(page, "Yes! I'll push an update to the tokens this afternoon.");
  await waitForBodies(page, [
    "Morning all! The new onboarding mocks are in the shared folder.",
    "Nice — the empty states look so much friendlier now.",
    "Agreed. One thing: can we bump the contrast on the secondary buttons?",
    "Yes! I'll push an update to the tokens this afternoon.",
  ]);
  await leo!.send(group, "Perfect, thanks Maya.\nI'll review it before standup.");
  await page.getByRole("region", { name: "Messages" }).getByText("I'll review it before standup.").waitFor();
  await page.getByRole("status").getByText("Connected").waitFor();
  await page.getByRole("textbox", { name: "Message" }).fill("");
  await shot(page, "conversation-desktop.png");
  await page.getByRole("button", { name: "New chat" }).first().click();
  await page
    .getByRole("dialog", { name: "New chat" })
    .getByLabel("Find people by username")
    .fill(leo!.username.slice(0, 2));
  await page
    .getByRole("dialog", { name: "New chat" })
    .getByRole("button", { name: new RegExp(`^${leo!.username}`) })
    .waitFor();
  await shot(page, "new-chat-desktop.png");
  await page.getByRole("dialog", { name: "New chat" }).getByRole("button", { name: "Close" }).click();
  await page.getByRole("dialog", { name: "New chat" }).waitFor({ state: "hidden" });

  for (const [w, h, name, dark] of [
    [390, 844, "conversation-phone.png", false],
    [1280, 800, "conversation-desktop-dark.png", true],
    [390, 844, "list-phone.png", false],
  ] as const) {
    const c2 = await newContext(world.browser, { width: w, height: h, dark, from: ctx });
    const p2 = await c2.newPage();
    await p2.goto(name === "list-phone.png" ? origin : `${origin}/#/c/${group}`);
    if (name === "list-phone.png") await p2.getByRole("list", { name: "Conversations" }).waitFor();
    else await p2.getByRole("region", { name: "Messages" }).getByText("I'll review it before standup.").waitFor();
    await p2.getByRole("status").getByText("Connected").waitFor();
    await shot(p2, name);
    await c2.close();
  }

  // a group with everything a message can carry, seen by the person mentioned
  const launch = (await leo!.createConversation([mayaId, sam!.id, priya!.id], "Launch plan")).id;
  const draft = await leo!.send(launch, "The launch post draft is up in the doc — feedback by Friday?");
  await sam!.react(launch, draft.seq, "👍");
  await priya!.react(launch, draft.seq, "👍");
  await priya!.react(launch, draft.seq, "🚀");
  const shots = await priya!.send(launch, "I'll take the screenshots.");
  await priya!.edit(launch, shots.seq, "I'll take the screenshots and write their alt text.");
  const oops = await sam!.send(launch, "wrong thread, sorry");
  await sam!.remove(launch, oops.seq);
  await leo!.call("POST", `/conversations/${launch}/members`, { memberIds: [noor!.id] });
  await leo!.rename(launch, "Launch crew");
  await sam!.send(launch, `@${maya} could you check the pricing table before Friday?`);
  await openChat(page, /^Launch crew/);
  await messageAction(page, "The launch post draft", "React");
  await page.getByRole("button", { name: "React with 🎉" }).click();
  await messageAction(page, "The launch post draft", "Reply");
  await sendFromComposer(page, "Looks great! Two small notes inline.");
  await bubble(page, "Looks great!").waitFor();
  await page.mouse.move(0, 0);
  await shot(page, "features-desktop.png");
  {
    const dark = await newContext(world.browser, { dark: true, from: ctx });
    const p3 = await dark.newPage();
    await p3.goto(`${origin}/#/c/${launch}`);
    await bubble(p3, "Looks great!").waitFor();
    await p3.getByRole("status").getByText("Connected").waitFor();
    await shot(p3, "features-desktop-dark.png");
    await dark.close();
  }
  await bubble(page, "pricing table").hover();
  await page.getByRole("textbox", { name: "Message" }).pressSequentially("Sure — @p");
  await page.getByRole("listbox", { name: "Members to mention" }).waitFor();
  await shot(page, "mention-desktop.png");
} finally {
  await world.stop();
}
