import { expect, test } from "bun:test";
import { ApiError } from "../src/state/api-client.ts";
import { errorText, explainAuthError, sendFailure } from "../src/state/explain.ts";

test("sign-in failures in words, by field where the api says which", () => {
  expect(explainAuthError(new ApiError(0, "network", "x"))).toEqual({
    form: "Cannot reach Parley. Check your connection and try again.",
  });
  expect(explainAuthError(new ApiError(401, "unauthorized", "x"))).toEqual({ form: "Wrong username or password." });
  expect(explainAuthError(new ApiError(409, "conflict", "x"))).toEqual({
    username: "That username is taken. Try another one.",
  });
  expect(
    explainAuthError(new ApiError(422, "validation_failed", "bad", [{ path: "/password", message: "too short" }])),
  ).toEqual({ username: undefined, password: "too short" });
  expect(explainAuthError(new ApiError(422, "validation_failed", "bad"))).toEqual({
    username: undefined,
    password: undefined,
    form: "bad",
  });
  expect(explainAuthError(new ApiError(429, "rate_limited", "x", undefined, 7))).toEqual({
    form: "Too many attempts.",
    waitSeconds: 7,
  });
  expect(explainAuthError(new Error("boom")).form).toBe("Something went wrong. Please try again.");
});

test("other failures: the server's words, else the fallback", () => {
  expect(errorText(new ApiError(404, "not_found", "no such user"), "Search failed.")).toBe("no such user");
  expect(errorText(new TypeError("x"), "Search failed.")).toBe("Search failed.");
});

test("a refused message says why, never as a sign-in error", () => {
  expect(sendFailure(new ApiError(413, "payload_too_large", "x"))).toBe("it is longer than 4000 characters.");
  expect(sendFailure(new ApiError(404, "not_found", "x"))).toBe("this conversation is no longer open to you.");
  expect(sendFailure(new ApiError(422, "validation_failed", "the message is empty"))).toBe("the message is empty");
  expect(sendFailure(new Error("boom"))).toBe("something went wrong. Try again.");
});
