import { afterEach, describe, expect, test } from "bun:test";
import { BACKGROUND_READ_HEADER } from "@parley/contract/limits";
import { api, ApiError, fieldErrors } from "../src/state/api-client.ts";

describe("field errors from a 422 answer", () => {
  test("the api's list of {path, message} maps to field names", () => {
    expect(
      fieldErrors([
        { path: "/username", message: "too short" },
        { path: "/password", message: "too long" },
      ]),
    ).toEqual({
      username: "too short",
      password: "too long",
    });
  });
  test("the first message per field wins; other shapes are understood too", () => {
    expect(
      fieldErrors([
        { path: "/username", message: "a" },
        { path: "/username", message: "b" },
      ]),
    ).toEqual({ username: "a" });
    expect(fieldErrors({ username: "taken" })).toEqual({ username: "taken" });
    expect(fieldErrors({ fields: { password: ["weak"] } })).toEqual({ password: "weak" });
    expect(fieldErrors(undefined)).toEqual({});
    expect(fieldErrors("nonsense")).toEqual({});
  });
  test("only network failures and unavailable answers are worth retrying unchanged", () => {
    expect(new ApiError(0, "network", "x").transient).toBe(true);
    expect(new ApiError(503, "unavailable", "x").transient).toBe(true);
    expect(new ApiError(422, "validation_failed", "x").transient).toBe(false);
    expect(new ApiError(429, "rate_limited", "x").transient).toBe(false);
  });
});

describe("requests", () => {
  const realFetch = globalThis.fetch;
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  test("every request that changes something says it is JSON, with a body or without (the api refuses others)", async () => {
    const seen: { method: string; type: string | null }[] = [];
    globalThis.fetch = (async (_url: string, init: RequestInit) => {
      seen.push({ method: init.method ?? "GET", type: new Headers(init.headers).get("content-type") });
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch;
    await api.logout();
    await api.logoutEverywhere();
    await api.read("0123456789abcdef01234567", 3);
    expect(seen).toEqual([
      { method: "POST", type: "application/json" },
      { method: "POST", type: "application/json" },
      { method: "POST", type: "application/json" },
    ]);
  });

  test("a catch-up's reads say they can wait (the server serves reads someone waits for first); others do not", async () => {
    const seen: (string | null)[] = [];
    globalThis.fetch = (async (_url: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get(BACKGROUND_READ_HEADER));
      return Response.json({ conversations: [], nextCursor: null, messages: [], changes: [], hasMore: false, rev: 0 });
    }) as unknown as typeof fetch;
    const id = "0123456789abcdef01234567";
    await api.conversations(undefined, undefined, { background: true });
    await api.messages(id, { after: 3 }, { background: true });
    await api.changes(id, 2, undefined, { background: true });
    await api.conversations();
    await api.messages(id, { before: 10 });
    expect(seen).toEqual(["1", "1", "1", null, null]);
  });
});
