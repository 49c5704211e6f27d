/**
 * A session that expires while the page is open: the socket is closed with 4001 and the page
 * goes to the sign-in screen saying why. The shortest session the api allows is 60 s, so this
 * file waits about a minute.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { newContext, startWorld, type World } from "./helpers/stack.ts";
import { register, uniqueName } from "./helpers/app.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld({ apiEnv: { JWT_TTL_SECONDS: "60" } });
}, 120_000);
afterAll(async () => {
  await world?.stop();
}, 60_000);

test("an expired session (close 4001) returns to sign-in with a clear notice", async () => {
  const page = await (await newContext(world.browser)).newPage();
  const closes: number[] = [];
  page.on("websocket", (ws) => ws.on("close", () => closes.push(Date.now())));
  await register(page, world.stack.realtimeUrls[0]!, uniqueName("hana"));
  await page.getByRole("status").getByText("Connected").waitFor();
  await page.getByText("Your session expired. Please sign in again.").waitFor({ timeout: 90_000 });
  await page.getByRole("tab", { name: "Sign in" }).waitFor();
  expect(closes.length).toBeGreaterThanOrEqual(1);
}, 120_000);
