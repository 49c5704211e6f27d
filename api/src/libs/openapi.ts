/**
 * The OpenAPI document at GET /api/openapi.json (@elysiajs/openapi, built from the routes'
 * schemas), with what the generator gets wrong for this api put right, so that a client or a
 * fuzzer generated from it sends what the api accepts and expects what it answers:
 *  - request bodies are JSON only (the generator also lists forms, which the api refuses);
 *  - an answer with no body (204, `NoContent`) has no content (the generator writes a bogus one).
 */
import { openapi } from "@elysiajs/openapi";
import { Elysia, t } from "elysia";

export const SPEC_PATH = "/api/openapi.json";

/** The schema of an answer with no body (204). */
export const NoContent = t.Void({ description: "done; no body" });

type Operation = {
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, { content?: Record<string, unknown> }>;
};
type Document = { paths?: Record<string, Record<string, Operation>> };

export function fixDocument(doc: Document): Document {
  const fixed = structuredClone(doc);
  for (const methods of Object.values(fixed.paths ?? {}))
    for (const op of Object.values(methods)) {
      const json = op.requestBody?.content?.["application/json"];
      if (op.requestBody && json) op.requestBody.content = { "application/json": json };
      for (const res of Object.values(op.responses ?? {}))
        if (res.content && typeof res.content.type === "string") delete res.content;
    }
  return fixed;
}

export const apiDocs = () =>
  new Elysia({ name: "api-docs" })
    // before the route: a hook applies to the routes registered after it
    .onAfterHandle({ as: "global" }, ({ route, responseValue }) => {
      if (route === SPEC_PATH && responseValue && typeof responseValue === "object")
        return fixDocument(responseValue as Document);
    })
    .use(
      openapi({
        provider: null,
        specPath: SPEC_PATH,
        documentation: {
          info: {
            title: "Parley api",
            version: "0.1.0",
            description: "Accounts, conversations, messages and read state of the Parley chat.",
          },
          components: {
            securitySchemes: {
              bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
              session: { type: "apiKey", in: "cookie", name: "session" },
            },
          },
          security: [{ bearer: [] }, { session: [] }],
        },
        exclude: { paths: [SPEC_PATH] },
      }),
    );
