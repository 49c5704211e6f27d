/**
 * Failed requests in words for the user. Components show these; only the state layer knows
 * the api client's error type.
 */
import { MESSAGE_BODY_MAX } from "@parley/contract/limits";
import { ApiError, fieldErrors } from "./api-client.ts";

/** What went wrong with signing in or creating an account, by field where the api says which. */
export type AuthProblem = {
  username?: string;
  password?: string;
  form?: string;
  /** the sign-in limit was hit: seconds until another attempt is allowed */
  waitSeconds?: number;
};

export function explainAuthError(e: unknown): AuthProblem {
  if (!(e instanceof ApiError)) return { form: "Something went wrong. Please try again." };
  switch (e.status) {
    case 0:
      return { form: "Cannot reach Parley. Check your connection and try again." };
    case 401:
      return { form: "Wrong username or password." };
    case 409:
      return { username: "That username is taken. Try another one." };
    case 422: {
      const f = fieldErrors(e.details);
      const out: AuthProblem = { username: f.username, password: f.password };
      if (!out.username && !out.password) out.form = e.message;
      return out;
    }
    case 429:
      return { form: "Too many attempts.", waitSeconds: e.retryAfter ?? 60 };
    default:
      return { form: e.message };
  }
}

/** The server's own words for a failed request when it gave some, else `fallback`. */
export const errorText = (e: unknown, fallback: string): string => (e instanceof ApiError ? e.message : fallback);

/**
 * Why the server refused a message, for "Not sent: …". Only refusals that would repeat get
 * here: waits (no connection, the send limit) keep the message queued instead.
 */
export function sendFailure(e: unknown): string {
  if (!(e instanceof ApiError)) return "something went wrong. Try again.";
  switch (e.status) {
    case 413:
      return `it is longer than ${MESSAGE_BODY_MAX} characters.`;
    case 403:
    case 404:
      return "this conversation is no longer open to you.";
    default:
      return e.message;
  }
}
