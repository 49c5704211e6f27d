/**
 * Request bodies: at most HTTP_BODY_MAX_BYTES, checked on Content-Length up front and on the
 * bytes actually read (a chunked body without a length is cut off as soon as it is too big).
 * JSON is parsed here so malformed JSON is a clean 422 rather than a framework error.
 * A body must say it is JSON (application/json or a +json type): a cross-origin fetch can send
 * a body without a preflight only as text/plain, a form or with no type at all, so refusing
 * those keeps cookie-carrying cross-site requests from acting. No body needs no type.
 */
import { Elysia } from "elysia";
import { HTTP_BODY_MAX_BYTES } from "@parley/contract/limits";
import { ApiError, invalid } from "../libs/errors.ts";

const JSON_TYPE = /^\s*application\/([\w.+-]*\+)?json\s*(;|$)/i;

const tooLarge = () => new ApiError("payload_too_large", `request bodies are at most ${HTTP_BODY_MAX_BYTES} bytes`);

async function readLimited(request: Request): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > HTTP_BODY_MAX_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

export const bodyLimit = new Elysia({ name: "body-limit" })
  .onRequest(({ request }) => {
    const length = Number(request.headers.get("content-length") ?? 0);
    if (length > HTTP_BODY_MAX_BYTES) throw tooLarge();
  })
  .onParse({ as: "global" }, async ({ request, contentType }) => {
    const text = await readLimited(request);
    if (text.trim() === "") return undefined;
    if (!JSON_TYPE.test(contentType ?? request.headers.get("content-type") ?? "")) {
      throw invalid("request bodies must be JSON, sent with Content-Type: application/json", [
        { path: "/", message: "Content-Type is not application/json" },
      ]);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw invalid("the body is not valid JSON", [{ path: "/", message: "malformed JSON" }]);
    }
  });
