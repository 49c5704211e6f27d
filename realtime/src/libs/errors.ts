/** The contract's error body, for HTTP answers and socket error frames. */
import type { ErrorCode } from "@parley/contract/limits";
import type { ErrorBody } from "@parley/contract";

export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });

export const jsonError = (status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(errorBody(code, message)), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
