/**
 * Builds frontend/dist: one minified production bundle with a content hash in its name (Lit's
 * dev mode is stripped by the "production" condition and NODE_ENV), the page stylesheet
 * (hashed too), index.html referencing both, the favicon and the web manifest. No inline
 * script, so the strict Content-Security-Policy holds.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await Bun.build({
  entrypoints: [join(root, "src/main.ts")],
  outdir: dist,
  target: "browser",
  format: "esm",
  minify: true,
  sourcemap: "linked",
  naming: { entry: "[name]-[hash].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
  define: { "process.env.NODE_ENV": '"production"' },
  conditions: ["production"],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const main = result.outputs.find((o) => o.kind === "entry-point");
if (!main) throw new Error("the build produced no entry point");
const mainName = main.path.slice(dist.length + 1);

const css = readFileSync(join(root, "src/page.css"));
const cssName = `page-${new Bun.CryptoHasher("sha256").update(css).digest("hex").slice(0, 10)}.css`;
writeFileSync(join(dist, cssName), css);

const html = readFileSync(join(root, "src/index.html"), "utf8")
  .replace("%MAIN%", mainName)
  .replace("%STYLES%", cssName);
writeFileSync(join(dist, "index.html"), html);
cpSync(join(root, "public"), dist, { recursive: true });

const bytes = main.size;
const gz = Bun.gzipSync(await Bun.file(main.path).arrayBuffer()).length;
console.log(
  `frontend/dist: ${mainName} ${(bytes / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip), ${cssName}, index.html`,
);
