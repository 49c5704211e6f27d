/**
 * Dockerfiles, read offline: pinned Bun image matching the Bun the tests run on, multi-stage
 * with production dependencies only, the workspace packages copied in, non-root numeric user,
 * the HEALTHCHECK/EXPOSE on the service's real port, and the same start command the tests run.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGoTools, runTool } from "./lib/tools.ts";
import {
  SERVICES,
  configPortDefault,
  exists,
  finalStage,
  inStage,
  read,
  readDockerfile,
  type Service,
} from "./lib/repo.ts";

/** BuildKit's own Dockerfile front end: parser, stage checks, `docker build --check` lint rules. */
type LintReport = {
  file: string;
  stages: { name: string; base: string }[];
  warnings: { rule: string; detail: string; line: number }[];
  error?: string;
};
function buildkitCheck(...files: string[]): LintReport[] {
  const r = runTool("dockerfile-lint", files);
  if (r.code !== 0) throw new Error(`dockerfile-lint failed: ${r.err}`);
  return r.out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

beforeAll(buildGoTools, 15 * 60_000);

test("BuildKit accepts both Dockerfiles with no lint warning, and rejects a broken one", () => {
  const reports = buildkitCheck(...SERVICES.map((s) => `${s}/Dockerfile`));
  for (const r of reports)
    expect({ file: r.file, error: r.error, warnings: r.warnings }).toEqual({
      file: r.file,
      error: undefined,
      warnings: [],
    });
  for (const [i, svc] of SERVICES.entries())
    expect(reports[i]!.stages.map((s) => s.name)).toEqual(
      readDockerfile(`${svc}/Dockerfile`).stages.map((s) => s.name!),
    );
  const dir = mkdtempSync(join(tmpdir(), "parley-dockerfile-"));
  writeFileSync(join(dir, "typo"), read("api/Dockerfile").replace("COPY api/src api/src", "COPPY api/src api/src"));
  writeFileSync(join(dir, "order"), read("api/Dockerfile").replace("--from=deps", "--from=runtime"));
  writeFileSync(join(dir, "lint"), read("api/Dockerfile").replace(/^CMD \[.*\]$/m, "CMD bun api/src/index.ts"));
  const [typo, order, lint] = buildkitCheck(join(dir, "typo"), join(dir, "order"), join(dir, "lint"));
  expect(typo!.error).toContain("unknown instruction: COPPY");
  expect(order!.error).toContain("circular dependency detected on stage: runtime");
  expect(lint!.warnings.map((w) => w.rule)).toEqual(["JSONArgsRecommended"]);
});

const rootPkg = JSON.parse(read("package.json"));
const workspaces: string[] = rootPkg.workspaces;
const workspaceName = Object.fromEntries(
  workspaces.map((w) => [JSON.parse(read(`${w}/package.json`)).name as string, w]),
);

/** The .dockerignore patterns as globs, plus their "!" exceptions. */
function ignored(path: string): boolean {
  let out = false;
  for (const raw of read(".dockerignore").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = negate ? line.slice(1) : line;
    const glob = new Bun.Glob(pattern);
    const hit = glob.match(path) || path.split("/").some((_, i, parts) => glob.match(parts.slice(0, i + 1).join("/")));
    if (hit) out = !negate;
  }
  return out;
}

test(".dockerignore keeps secrets, dependencies and build output out of the context", () => {
  for (const p of [
    ".env",
    "node_modules",
    "api/node_modules/x",
    ".git",
    ".tools/bin/skaffold",
    "frontend/dist/index.html",
    "k8s/overlays/dev/jwt-secret.txt",
    "api/test/x.test.ts",
  ])
    expect(`${p}: ${ignored(p)}`).toBe(`${p}: true`);
  for (const p of [
    "package.json",
    "package-lock.json",
    "api/src/index.ts",
    "frontend/scripts/build.ts",
    "contract/src/index.ts",
  ])
    expect(`${p}: ${ignored(p)}`).toBe(`${p}: false`);
});

describe.each(SERVICES)("%s/Dockerfile", (svc: Service) => {
  const df = readDockerfile(`${svc}/Dockerfile`);
  const last = finalStage(df);

  test("every stage is the official Bun image, pinned to the Bun version the tests run on", () => {
    expect(df.stages.length).toBeGreaterThanOrEqual(2);
    const versions = new Set<string>();
    for (const { from } of df.stages) {
      const m = /^oven\/bun:(\d+\.\d+\.\d+)(-slim)?$/.exec(from);
      expect(m ? from : `unpinned or not oven/bun: ${from}`).toBe(from);
      versions.add(m![1]!);
    }
    expect(versions.size).toBe(1);
    const [version] = [...versions];
    expect(Bun.semver.satisfies(version!, rootPkg.devDependencies.bun)).toBe(true);
  });

  test("dependencies: the npm lockfile, every workspace manifest, production only, frozen", () => {
    const deps = df.stages.findIndex((s) => s.name === "deps");
    expect(deps).toBeGreaterThanOrEqual(0);
    const copies = inStage(df, deps, "COPY").join("\n");
    expect(copies).toContain("package-lock.json");
    for (const w of workspaces) expect(copies).toContain(`${w}/package.json ${w}/`);
    const install = inStage(df, deps, "RUN").join("\n");
    expect(install).toContain("bun install --production --frozen-lockfile");
    expect(install).toContain(`--filter @parley/${svc}`);
  });

  test("final stage: the service and its workspace packages as sources, non-root, no build leftovers", () => {
    const copies = inStage(df, last, "COPY");
    expect(copies).toContain("--from=deps /app/node_modules ./node_modules");
    const sources = copies.filter((c) => !c.startsWith("--from")).map((c) => c.split(" ")[0]!);
    const pkg = JSON.parse(read(`${svc}/package.json`));
    const needed = [
      svc,
      ...Object.keys(pkg.dependencies)
        .filter((d) => workspaceName[d])
        .map((d) => workspaceName[d]!),
    ];
    expect(needed).toContain("contract");
    expect(needed).toContain("kit");
    for (const w of needed) {
      expect(sources).toContain(`${w}/src`);
      expect(sources).toContain(`${w}/package.json`);
    }
    for (const s of sources) {
      expect(`${s} exists: ${exists(s)}`).toBe(`${s} exists: true`);
      expect(`${s} ignored: ${ignored(s)}`).toBe(`${s} ignored: false`);
    }
    expect(inStage(df, last, "WORKDIR")).toEqual(["/app"]);
    const user = inStage(df, last, "USER");
    expect(user.length).toBe(1);
    const [uid, gid] = user[0]!.split(":").map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  test("EXPOSE and HEALTHCHECK use the port the service listens on by default, and /healthz", () => {
    const port = configPortDefault(svc);
    expect(inStage(df, last, "EXPOSE")).toEqual([String(port)]);
    const hc = inStage(df, last, "HEALTHCHECK");
    expect(hc.length).toBe(1);
    expect(hc[0]).toContain(`CMD ["bun", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||${port})+'/healthz')`);
    expect(hc[0]).toContain("process.exit(r.ok?0:1)");
    expect(inStage(df, last, "ENV").join(" ")).toContain(`PORT=${port}`);
  });

  test("CMD is the production start command the tests spawn", () => {
    const cmd = JSON.parse(inStage(df, last, "CMD")[0]!);
    expect(cmd).toEqual(["bun", `${svc}/src/index.ts`]);
    expect(exists(cmd[1])).toBe(true);
    expect(read("scripts/lib/stack.ts")).toContain(`join(ROOT, "${svc}/src/index.ts")`);
  });
});

test("realtime image carries the built frontend and points STATIC_DIR at it", () => {
  const df = readDockerfile("realtime/Dockerfile");
  const web = df.stages.findIndex((s) => s.name === "web");
  expect(inStage(df, web, "RUN")).toContain("bun frontend/scripts/build.ts");
  expect(inStage(df, finalStage(df), "COPY")).toContain("--from=web /app/frontend/dist frontend/dist");
  expect(inStage(df, finalStage(df), "ENV").join(" ")).toContain("STATIC_DIR=/app/frontend/dist");
  expect(exists("frontend/scripts/build.ts")).toBe(true);
});
