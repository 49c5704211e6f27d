/**
 * The catch-up after a reconnect (state/sync.ts), against a stand-in for the api's answers: the
 * messages first, then the changes only when the messages' page says the change head is past
 * what the thread holds (or could not say). Pure client logic; the real path is in the e2e
 * tests (changes.e2e.test.ts, "offline").
 */
import { afterEach, expect, test } from "bun:test";
import { StoreState } from "../src/state/store-state.ts";
import { Sync } from "../src/state/sync.ts";
import { emptyThread } from "../src/state/thread.ts";

const ID = "0123456789abcdef01234567";
const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A thread loaded at `rev`; the api's change head is `head`; returns the paths asked, in order. */
async function reconnect(rev: number, head: number, messagesStatus = 200): Promise<string[]> {
  const asked: string[] = [];
  globalThis.fetch = (async (url: string) => {
    const { pathname, search } = new URL(url, "http://parley.test");
    asked.push(`${pathname.replace(`/api/conversations/${ID}/`, "")}${search}`);
    if (pathname.endsWith("/messages") && messagesStatus !== 200)
      return Response.json({ error: { code: "unavailable", message: "down" } }, { status: messagesStatus });
    return Response.json({ messages: [], changes: [], hasMore: false, rev: head });
  }) as unknown as typeof fetch;
  const st = new StoreState();
  st.setThread(ID, { ...emptyThread(), loaded: true, rev });
  const failures: unknown[] = [];
  await new Sync(st, (e) => failures.push(e)).catchUpAfterReconnect(ID, { background: true });
  expect(failures.length).toBe(messagesStatus === 200 ? 0 : 1);
  return asked;
}

test("nothing changed past the thread's rev: the messages alone are asked", async () => {
  expect(await reconnect(7, 7)).toEqual(["messages?after=0&limit=100"]);
});

test("the change head is past the thread's rev: the changes since it are asked after the messages", async () => {
  expect(await reconnect(7, 9)).toEqual(["messages?after=0&limit=100", "changes?since=7&limit=100"]);
});

test("the messages could not be read (the head is not known): the changes are asked anyway", async () => {
  expect(await reconnect(7, 7, 503)).toEqual(["messages?after=0&limit=100", "changes?since=7&limit=100"]);
});
