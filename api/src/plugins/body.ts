/**
 * Request bodies: at most HTTP_BODY_MAX_BYTES, checked on Content-Length up front and on the
 * bytes actually read (a chunked body without a length is cut off as soon as it is too big).
 * JSON is parsed here so malformed JSON is a clean 422 rather than a framework error, JSON
 * nested deeper than JSON_DEPTH_MAX is refused before it is parsed (the parser and the
 * validators recurse once per level, and ten thousand levels overflowed the stack: a 500), and
 * so is text with NUL in it (the database cannot store it: a 500, found by the fuzzer).
 *
 * Cross-site requests cannot act. Every request that changes something (POST) must say it is JSON (application/json or a +json type), with or without a
 * body: a page on another site can send a form, text/plain or no type at all without asking,
 * but a JSON type only after a CORS preflight, which this api never grants. A browser that says
 * the request is cross-site (Sec-Fetch-Site) is refused outright. So a link or a form elsewhere
 * cannot sign anyone out, send a message or start a conversation with the user's cookie.
 */
import { Elysia } from "elysia";
import { HTTP_BODY_MAX_BYTES, JSON_DEPTH_MAX } from "@parley/contract/limits";
import { jsonDepthWithin } from "@parley/contract/text";
import { ApiError, invalid } from "../libs/errors.ts";

const JSON_TYPE = /^\s*application\/([\w.+-]*\+)?json\s*(;|$)/i;
/**
 * Methods that change something. The api changes things with POST only; PUT, PATCH and DELETE
 * have no route (405) — a route added with one of them belongs in this list.
 */
const UNSAFE_METHODS = new Set(["POST"]);

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
  // after routing, so a method a path does not have is 405 whatever it carries
  .onTransform({ as: "global" }, ({ request }) => {
    if (!UNSAFE_METHODS.has(request.method)) return;
    if (request.headers.get("sec-fetch-site") === "cross-site") {
      throw new ApiError("forbidden", "requests from other sites may not change anything here");
    }
    if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
      throw invalid("requests that change something must be sent with Content-Type: application/json", [
        { path: "/", message: "Content-Type is not application/json" },
      ]);
    }
  })
  .onParse({ as: "global" }, async ({ request }) => {
    const text = await readLimited(request);
    if (text.trim() === "") return undefined;
    if (!jsonDepthWithin(text, JSON_DEPTH_MAX)) {
      throw invalid(`JSON may nest at most ${JSON_DEPTH_MAX} levels deep`, [
        { path: "/", message: "nested too deeply" },
      ]);
    }
    let nul = false;
    let value: unknown;
    try {
      // NUL cannot be stored (the database refuses it): found anywhere, the body is refused
      value = JSON.parse(text, (key, v) => {
        if (key.includes("\0") || (typeof v === "string" && v.includes("\0"))) nul = true;
        return v;
      });
    } catch {
      throw invalid("the body is not valid JSON", [{ path: "/", message: "malformed JSON" }]);
    }
    if (nul) throw invalid("text may not contain NUL characters", [{ path: "/", message: "NUL character" }]);
    return value;
  });
