/**
 * The production bundle: built by the same script `npm run build` runs, hashed names that
 * index.html references, Lit's dev mode stripped, and no server-side schema library pulled in
 * through the contract (only `import type` may reach the browser).
 */
import { beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
let js = "";
let html = "";

beforeAll(() => {
  const p = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts")], {
    stdout: "pipe",
    stderr: "pipe",
    cwd: mkdtempSync(join(tmpdir(), "fe-build-")),
  });
  expect(p.exitCode).toBe(0);
  html = readFileSync(join(dist, "index.html"), "utf8");
  const main = readdirSync(dist).find((f) => /^main-[a-z0-9]+\.js$/.test(f));
  expect(main).toBeDefined();
  js = readFileSync(join(dist, main!), "utf8");
});

test("index.html references the content-hashed bundle and stylesheet, with no inline script", () => {
  const scripts = [...html.matchAll(/<script[^>]*>/g)].map((m) => m[0]);
  expect(scripts).toHaveLength(1);
  expect(scripts[0]).toMatch(/src="\/main-[a-z0-9]+\.js"/);
  expect(html).not.toMatch(/<script[^>]*>[^<]+<\/script>/);
  expect(html).toMatch(/href="\/page-[0-9a-f]{10}\.css"/);
  for (const f of ["favicon.svg", "manifest.webmanifest"]) expect(existsSync(join(dist, f))).toBe(true);
  expect(JSON.parse(readFileSync(join(dist, "manifest.webmanifest"), "utf8")).name).toBe("Parley");
});

test("the bundle is production Lit and carries no schema library or remote resources", () => {
  expect(js).not.toContain("Lit is in dev mode");
  expect(js).not.toContain("@sinclair/typebox");
  expect(js.toLowerCase()).not.toContain("elysia");
  expect(js).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\//i);
  expect(js).toContain("parley-app");
  expect(js).not.toContain("unsafeHTML");
  expect(Buffer.byteLength(js)).toBeLessThan(150 * 1024);
});
