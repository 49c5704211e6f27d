/**
 * Every failure leaves the api as the contract's `{error:{code,message,details?}}`. Services
 * throw ApiError; one onError (the `errors` plugin) maps those, Elysia's own validation, parse
 * and not-found errors, and database outages. Nothing else reaches the client: an unexpected
 * error is logged and answered with a generic message, never a stack trace.
 */
import { Elysia } from "elysia";
import type { ErrorBody } from "@parley/contract";
import { errorBody } from "@parley/contract/errors";
import type { ErrorCode } from "@parley/contract/limits";
import type { Logger } from "@parley/kit/log";
import { isDbUnavailable } from "./db.ts";

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  method_not_allowed: 405,
  rate_limited: 429,
  unavailable: 503,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** extra response headers, e.g. Retry-After */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = STATUS[code];
  }
}

export const notFound = (what = "not found") => new ApiError("not_found", what);
export const unauthorized = () => new ApiError("unauthorized", "sign in first");
export const invalid = (message: string, details?: unknown) => new ApiError("validation_failed", message, details);
export const rateLimited = (retryAfterSeconds: number, message = "too many attempts, try again later") =>
  new ApiError("rate_limited", message, undefined, {
    "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });

/** Field paths of a TypeBox validation failure, e.g. [{path: "/memberIds/0", message: "…"}]. */
function validationDetails(err: unknown): { path: string; message: string }[] {
  const all = (err as { all?: { path?: string; message?: string; summary?: string }[] }).all;
  if (!Array.isArray(all)) return [];
  const seen = new Set<string>();
  const out: { path: string; message: string }[] = [];
  for (const e of all) {
    const path = e.path || "/";
    const message = e.summary ?? e.message ?? "invalid";
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

/**
 * Elysia checks coerced query numbers (`?limit=0`) one property at a time and its error then
 * lacks the field's name; recover it by finding the query parameter that holds the bad value.
 */
function coercedQueryDetails(err: unknown, request: Request): { path: string; message: string }[] {
  const value = (err as { value?: unknown }).value;
  const [first] = validationDetails(err);
  const message = first?.message ?? "invalid";
  const names = [...new URL(request.url).searchParams.entries()]
    .filter(([, v]) => v === String(value) || Number(v) === value)
    .map(([k]) => k);
  return names.length > 0
    ? [...new Set(names)].map((name) => ({ path: `/${name}`, message }))
    : [{ path: "/", message }];
}

/** A route as Elysia lists it. */
export type Route = { method: string; path: string };

/** The methods a path is served with (HEAD with GET), or none when no route has that path. */
function methodsOf(routes: Route[], pathname: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    const pattern = new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+")}$`);
    if (!pattern.test(pathname)) continue;
    methods.add(r.method.toUpperCase());
    if (r.method.toUpperCase() === "GET") methods.add("HEAD");
  }
  return [...methods].sort();
}

export const errors = (log: Logger, routes: () => Route[] = () => []) =>
  new Elysia({ name: "errors" }).onError({ as: "global" }, ({ code, error, set, request }) => {
    const reply = (status: number, payload: ErrorBody, headers?: Record<string, string>) => {
      set.status = status;
      if (headers) Object.assign(set.headers, headers);
      set.headers["content-type"] = "application/json";
      const { code: what, details } = payload.error;
      if (what === "validation_failed" || what === "payload_too_large") {
        // a line per refused input, naming where it was wrong but never the values (a password
        // may be one of them)
        const fields = Array.isArray(details)
          ? details.map((d: { path?: unknown }) => String(d.path)).slice(0, 10)
          : [];
        log.info({ path: new URL(request.url).pathname, status, code: what, fields }, "bad input refused");
      }
      return payload;
    };
    // errors thrown by our body parser arrive wrapped in Elysia's ParseError
    const own =
      error instanceof ApiError
        ? error
        : (error as { cause?: unknown }).cause instanceof ApiError
          ? (error as { cause: ApiError }).cause
          : undefined;
    if (own) return reply(own.status, errorBody(own.code, own.message, own.details), own.headers);
    switch (code) {
      case "VALIDATION": {
        const where = (error as { type?: string }).type ?? "request";
        const details = where === "property" ? coercedQueryDetails(error, request) : validationDetails(error);
        return reply(422, errorBody("validation_failed", `invalid ${where === "property" ? "query" : where}`, details));
      }
      case "PARSE":
        return reply(
          422,
          errorBody("validation_failed", "the body is not valid JSON", [{ path: "/", message: "malformed JSON" }]),
        );
      case "NOT_FOUND": {
        // a path that exists, asked with a method it does not have: 405 and the ones it has
        const allowed = methodsOf(routes(), new URL(request.url).pathname);
        if (allowed.length > 0 && !allowed.includes(request.method))
          return reply(405, errorBody("method_not_allowed", `${request.method} is not allowed here`), {
            allow: allowed.join(", "),
          });
        return reply(404, errorBody("not_found", "no such route"));
      }
      case "INVALID_COOKIE_SIGNATURE":
        return reply(401, errorBody("unauthorized", "sign in first"));
    }
    if (isDbUnavailable(error)) {
      log.warn({ err: (error as Error).message }, "database unavailable");
      return reply(503, errorBody("unavailable", "the database is not available, try again shortly"), {
        "retry-after": "2",
      });
    }
    log.error(
      {
        err: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
        path: new URL(request.url).pathname,
      },
      "unexpected error",
    );
    return reply(500, errorBody("unavailable", "internal error"));
  });
