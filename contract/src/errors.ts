/**
 * The contract's error body, `{error: {code, message, details?}}`, built in one place for every
 * HTTP answer and refusal. Plain code with type-only imports, so the browser bundle may use it.
 */
import type { ErrorCode } from "./limits.ts";
import type { ErrorBody } from "./schemas.ts";

export const errorBody = (code: ErrorCode, message: string, details?: unknown): ErrorBody => ({
  error: details === undefined ? { code, message } : { code, message, details },
});
