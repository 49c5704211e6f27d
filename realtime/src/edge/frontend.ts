/**
 * The built frontend from STATIC_DIR: files through @elysiajs/static, `index.html` for `/` and
 * for unknown page paths (the client routes them), or a plain notice when nothing is built.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Elysia } from "elysia";
import { staticPlugin } from "@elysiajs/static";

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Parley</title>
<p>The Parley frontend is not built yet. Run <code>npm run build</code>, then reload.</p>`;

/** An unknown GET that a browser navigates to (wants HTML) and that is not the api or the socket. */
export const isPageRequest = (request: Request) => {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const path = new URL(request.url).pathname;
  if (path === "/api" || path.startsWith("/api/") || path === "/ws") return false;
  return (request.headers.get("accept") ?? "").includes("text/html");
};

export async function frontend(staticDir: string) {
  const indexFile = join(staticDir, "index.html");
  if (!existsSync(indexFile)) {
    const page = () =>
      new Response(NOT_BUILT, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
    return { plugin: new Elysia({ name: "frontend" }).get("/", page), fallback: page };
  }
  const index = () =>
    new Response(Bun.file(indexFile), {
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
    });
  const files = await staticPlugin({
    assets: staticDir,
    prefix: "/",
    indexHTML: false,
    etag: false,
    alwaysStatic: false,
    silent: true,
  });
  return {
    plugin: new Elysia({ name: "frontend" }).get("/", index).get("/index.html", index).use(files),
    fallback: index,
  };
}
