/**
 * Reads wait their turn, writes do not (plugins/read-admission.ts), on a real Elysia app with the
 * plugin as the api mounts it: reads beyond the limit are not started until one finishes, writes
 * pass them, and every way a read can end gives its place back (an error, a refusal, a 404, a
 * client that went away); reads marked as background (a client's catch-up) let the others go
 * first. Deterministic: the test holds and releases the reads itself.
 */
import { afterAll, expect, test } from "bun:test";
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import { Elysia, t } from "elysia";
import { waitFor } from "../../scripts/lib/ports.ts";
import { apiMetrics } from "../src/libs/metrics.ts";
import { readAdmission } from "../src/plugins/read-admission.ts";

const metrics = apiMetrics();
let started = 0;
const holds: (() => void)[] = [];
const order: string[] = [];
const app = new Elysia()
  .use(readAdmission(2, metrics))
  .get("/api/held", async () => {
    started++;
    await new Promise<void>((release) => holds.push(release));
    return { ok: true };
  })
  .get("/api/named/:name", async ({ params }) => {
    order.push(params.name);
    return params.name;
  })
  .get("/api/fails", () => {
    throw new Error("boom");
  })
  .get("/api/checked", ({ query }) => query, { query: t.Object({ n: t.Numeric() }) })
  .post("/api/write", () => ({ written: true }))
  .get("/healthz", () => "ok")
  .listen(0);
const base = `http://127.0.0.1:${app.server!.port}`;
afterAll(() => app.stop(true));

const waiting = async () => (await metrics.readsWaiting.get()).values[0]?.value ?? 0;

test("reads beyond the limit wait; writes and non-api paths pass them; each place is given back", async () => {
  const first = [fetch(`${base}/api/held`), fetch(`${base}/api/held`)];
  await waitFor("two reads running", () => started === 2);
  const third = fetch(`${base}/api/held`);
  await waitFor("the third read waiting", async () => (await waiting()) === 1);
  expect(started).toBe(2);

  // a write, and a path outside /api, do not wait behind the reads
  expect(await (await fetch(`${base}/api/write`, { method: "POST" })).json()).toEqual({ written: true });
  expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok");
  expect(started).toBe(2);

  // one read finishes: the waiting one starts
  holds.shift()!();
  expect((await first[0]!).status).toBe(200);
  await waitFor("the third read started", () => started === 3);
  expect(await waiting()).toBe(0);
  holds.shift()!();
  holds.shift()!();
  expect((await first[1]!).status).toBe(200);
  expect((await third).status).toBe(200);
});

test("a read that fails, is refused, finds nothing or is abandoned gives its place back", async () => {
  expect((await fetch(`${base}/api/fails`)).status).toBe(500);
  expect((await fetch(`${base}/api/checked?n=x`)).status).toBe(422);
  expect((await fetch(`${base}/api/nowhere`)).status).toBe(404);
  const gone = new AbortController();
  const abandoned = fetch(`${base}/api/held`, { signal: gone.signal }).catch(() => "abandoned");
  await waitFor("the abandoned read running", () => holds.length === 1);
  gone.abort();
  expect(await abandoned).toBe("abandoned");
  holds.shift()!(); // its handler ends; the answer has nobody to go to
  // both places are free again: two reads run at once, with nothing waiting
  const before = started;
  const two = [fetch(`${base}/api/held`), fetch(`${base}/api/held`)];
  await waitFor("two reads running again", () => started === before + 2);
  expect(await waiting()).toBe(0);
  for (const release of holds.splice(0)) release();
  for (const r of await Promise.all(two)) expect(r.status).toBe(200);
});

test("a catch-up read (marked background) lets a read that came after it go first", async () => {
  const holding = [fetch(`${base}/api/held`), fetch(`${base}/api/held`)];
  await waitFor("both places taken", () => holds.length === 2);
  const background = { headers: { [BACKGROUND_READ_HEADER]: "1" } };
  const catchUp = fetch(`${base}/api/named/catch-up`, background);
  await waitFor("the catch-up waiting", async () => (await waiting()) === 1);
  const opening = fetch(`${base}/api/named/opening`);
  await waitFor("both waiting", async () => (await waiting()) === 2);
  // one place comes free: the read that came second goes first (in arrival order it would not)
  holds.shift()!();
  await waitFor("both ran", () => order.length === 2);
  expect(order).toEqual(["opening", "catch-up"]);
  holds.shift()!();
  for (const r of [...(await Promise.all(holding)), await catchUp, await opening]) expect(r.status).toBe(200);
});
