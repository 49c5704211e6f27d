/**
 * Writes the README's screenshots to docs/screenshots/: the sign-in screen and a conversation
 * with several messages, at desktop (1280×800) and phone (390×844) size, light, plus dark.
 * Run: node_modules/.bin/bun e2e/screenshots.ts
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright";
import { ROOT } from "../scripts/lib/infra.ts";
import { ApiUser, openChat, register, sendFromComposer, waitForBodies } from "./helpers/app.ts";
import { newContext, startWorld } from "./helpers/stack.ts";

const out = join(ROOT, "docs/screenshots");
mkdirSync(out, { recursive: true });
const world = await startWorld();
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
  await page.keyboard.press("Escape");

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
} finally {
  await world.stop();
}
