/**
 * A message the server refuses (here: the sender's rate limit) shows as failed with a Retry
 * button; retrying reuses its clientId, so once it goes through the server holds it once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, uniqueName, until, waitForBodies } from "./helpers/app.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld({ apiEnv: { SEND_RATE_MAX: "2", SEND_RATE_WINDOW_SECONDS: "3" } });
}, 120_000);
afterAll(async () => {
  await world?.stop();
}, 60_000);

test("a refused message is marked failed, and Retry sends it once with the same clientId", async () => {
  const page = await (await newContext(world.browser)).newPage();
  page.setDefaultTimeout(15_000);
  const ivan = uniqueName("ivan");
  await register(page, world.stack.realtimeUrls[0]!, ivan);
  const jo = await ApiUser.register(world.stack.apiUrl, uniqueName("jo"));
  const conversationId = (await jo.createDirect(await jo.userId(ivan))).id;
  await openChat(page, new RegExp(`^${jo.username}`));

  for (const text of ["one", "two", "three"]) await sendFromComposer(page, text);
  const third = page.getByRole("region", { name: "Messages" }).locator("message-bubble", { hasText: "three" });
  await until("the third message to fail", async () => (await third.getAttribute("status")) === "failed");
  await third.getByRole("alert").getByText(/Not sent/).waitFor();
  const clientId = await third.getAttribute("data-client-id");

  // the window passes; Retry (pressed until the server takes it) sends the same message again
  await until("a retry to go through", async () => {
    if ((await third.getAttribute("status")) === "failed") await third.getByRole("button", { name: "Retry" }).click();
    return (await third.getAttribute("status")) === "sent";
  }, 20_000);
  await waitForBodies(page, ["one", "two", "three"]);
  const stored = await jo.messages(conversationId);
  expect(stored.map((m) => m.body)).toEqual(["one", "two", "three"]);
  expect(stored[2]!.clientId).toBe(clientId!);
}, 90_000);
