/**
 * A message the server refuses (here: the sender's rate limit) shows as failed with a Retry
 * button; retrying reuses its clientId, so once it goes through the server holds it once.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { ApiUser, openChat, register, sendFromComposer, uniqueName, waitForBodies } from "./helpers/app.ts";
import { waitFor } from "../scripts/lib/ports.ts";

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

  // five sends in well under one 3 s window: whatever the window boundaries, at most four pass
  const texts = ["one", "two", "three", "four", "five"];
  for (const text of texts) await sendFromComposer(page, text);
  const bubbles = page.getByRole("region", { name: "Messages" }).locator("message-bubble");
  const failed = page.getByRole("region", { name: "Messages" }).locator('message-bubble[status="failed"]');
  await failed.first().waitFor();
  await failed
    .first()
    .getByRole("alert")
    .getByText(/Not sent/)
    .waitFor();
  const failedIds = await failed.evaluateAll((els) => els.map((e) => e.getAttribute("data-client-id")));
  expect(failedIds.length).toBeGreaterThanOrEqual(1);

  // the window passes; Retry (pressed until the server takes them) sends the same messages again
  await waitFor(
    "every retry to go through",
    async () => {
      const stillFailed = await failed.count();
      if (stillFailed) await failed.first().getByRole("button", { name: "Retry" }).click();
      const statuses = await bubbles.evaluateAll((els) => els.map((e) => e.getAttribute("status")));
      return statuses.length === 5 && statuses.every((s) => s === "sent");
    },
    30_000,
  );
  const stored = await jo.messages(conversationId);
  expect(stored.map((m) => m.body).sort()).toEqual([...texts].sort());
  await waitForBodies(
    page,
    stored.map((m) => m.body),
  );
  // the retried ones kept their clientId
  const storedIds = new Set(stored.map((m) => m.clientId));
  for (const id of failedIds) expect(storedIds.has(id!)).toBe(true);
}, 90_000);
