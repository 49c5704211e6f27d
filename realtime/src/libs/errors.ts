/** The contract's error body (contract/errors) as a JSON response, for answers outside Elysia's own error path. */
import { errorBody } from "@parley/contract/errors";
import type { ErrorCode } from "@parley/contract/limits";

export const jsonError = (status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(errorBody(code, message)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
