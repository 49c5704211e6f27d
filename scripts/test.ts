/**
 * One command runs every test: `npm test` (or `npm test -- api realtime` for some suites).
 *
 * Typecheck, lint (Biome), the frontend build, then each suite's `bun test` with a throwaway Redis and
 * MongoDB-compatible server on free ports (never the data of a running `npm start`), stopped
 * afterwards. Ends with the line `tests: N passed, M failed` that CI reads.
 */
import { join } from "node:path";
import { ROOT } from "./lib/infra.ts";
import { startTestInfra, type TestInfra } from "./lib/testinfra.ts";
import { BUN } from "./lib/stack.ts";

type Count = { passed: number; failed: number; skipped: number; failures?: string[] };
type Suite = { name: string; run: (env: Record<string, string>) => Promise<Count>; needsInfra: boolean };

const TSC = join(ROOT, "node_modules/.bin/tsc");
const BIOME = join(ROOT, "node_modules/.bin/biome");

/** Runs a command, streaming its output, and returns its exit code and combined output. */
async function runStreaming(cmd: string[], cwd: string, env: Record<string, string>, timeoutMs: number) {
  const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => {
    console.error(`\n[test] ${cmd.join(" ")} exceeded ${timeoutMs / 1000} s; killing it`);
    proc.kill("SIGKILL");
  }, timeoutMs);
  let output = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      output += text;
      sink.write(text);
    }
  };
  await Promise.all([pump(proc.stdout, process.stdout), pump(proc.stderr, process.stderr)]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, output };
}

/** Counts from bun test's closing summary (" 12 pass", " 1 fail", " 2 skip"). */
export function parseBunSummary(output: string): Count | null {
  const num = (word: string) => {
    const matches = [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}$`, "gm"))];
    return matches.length ? Number(matches[matches.length - 1]![1]) : null;
  };
  const passed = num("pass");
  const failed = num("fail");
  if (passed === null && failed === null) return null;
  return { passed: passed ?? 0, failed: failed ?? 0, skipped: num("skip") ?? 0 };
}

function bunSuite(name: string, dir: string, folder = "./test", timeoutMs = 20 * 60_000, needsInfra = true): Suite {
  return {
    name,
    needsInfra,
    async run(env) {
      const { code, output } = await runStreaming(
        [BUN, "test", folder, "--timeout", "60000"],
        join(ROOT, dir),
        env,
        timeoutMs,
      );
      const count = parseBunSummary(output);
      if (!count) return { passed: 0, failed: 1, skipped: 0 }; // crashed before any summary
      // A non-zero exit with no failing test (e.g. an error outside tests) still counts as a failure.
      if (code !== 0 && count.failed === 0) count.failed = 1;
      return { ...count, failures: failingTests(output) };
    },
  };
}

/**
 * The failing tests in bun test's output, each with its file ("file: (fail) describe > name"):
 * bun names each inline under its file's header, and again in a closing list (not read).
 */
export function failingTests(output: string): string[] {
  const failing: string[] = [];
  let file = "";
  for (const line of output.split("\n")) {
    if (/^\d+ tests? failed:$/.test(line)) break;
    if (/^\S+\.test\.tsx?:$/.test(line)) file = line.slice(0, -1);
    else if (line.startsWith("(fail) "))
      failing.push(`${file ? `${file}: ` : ""}${line.replace(/ \[[\d.]+ms\]$/, "")}`);
  }
  return failing;
}

function commandCheck(name: string, cmd: string[], cwd = ROOT): Suite {
  return {
    name,
    needsInfra: false,
    async run(env) {
      const { code } = await runStreaming(cmd, cwd, env, 10 * 60_000);
      return code === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0 };
    },
  };
}

const suites: Suite[] = [
  commandCheck("typecheck", [TSC, "-p", "tsconfig.json", "--noEmit"]),
  // formatting and lint rules (biome.jsonc); a violation fails the run like a type error
  commandCheck("lint", [BIOME, "check", "--error-on-warnings", "."]),
  commandCheck("frontend-build", [BUN, "frontend/scripts/build.ts"]),
  bunSuite("kit", "kit", "./test", 5 * 60_000, false),
  bunSuite("frontend", "frontend", "./test", 5 * 60_000, false),
  bunSuite("deploy", ".", "./deploy/test", 30 * 60_000, false),
  bunSuite("api", "api"),
  bunSuite("realtime", "realtime"),
  bunSuite("start", "scripts", "./test", 10 * 60_000, false),
  // starts its own Redis and database: it stops and restarts them
  bunSuite("fault", ".", "./fault", 15 * 60_000, false),
  bunSuite("e2e", ".", "./e2e", 30 * 60_000),
];

async function main() {
  const only = process.argv.slice(2);
  const selected = only.length ? suites.filter((s) => only.includes(s.name)) : suites;
  if (only.length && selected.length !== only.length) {
    console.error(`unknown suite in: ${only.join(", ")}; suites are: ${suites.map((s) => s.name).join(", ")}`);
    process.exit(2);
  }
  const started = Date.now();
  let infra: TestInfra | undefined;
  const stopInfra = async () => {
    await infra?.stop();
    infra = undefined;
  };
  process.on("SIGINT", () => void stopInfra().then(() => process.exit(130)));
  process.on("SIGTERM", () => void stopInfra().then(() => process.exit(143)));

  const results: { name: string; count: Count; seconds: number }[] = [];
  try {
    for (const suite of selected) {
      const env: Record<string, string> = {
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: "1",
        LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
      };
      if (suite.needsInfra) {
        infra ??= await startTestInfra();
        Object.assign(env, {
          TEST_MONGO_URL: infra.mongoUrl,
          TEST_REDIS_URL: infra.redisUrl,
          TEST_MONGO_KIND: infra.mongoKind,
        });
      }
      console.log(`\n===== ${suite.name} =====`);
      const t0 = Date.now();
      const count = await suite.run(env).catch((err: unknown) => {
        console.error(`[test] suite ${suite.name} could not run: ${String(err)}`);
        return { passed: 0, failed: 1, skipped: 0 };
      });
      results.push({ name: suite.name, count, seconds: (Date.now() - t0) / 1000 });
    }
  } finally {
    await stopInfra();
  }

  console.log("\n===== summary =====");
  for (const r of results) {
    console.log(
      `${r.name.padEnd(16)} ${String(r.count.passed).padStart(4)} passed ${String(r.count.failed).padStart(3)} failed ${String(r.count.skipped).padStart(3)} skipped  ${r.seconds.toFixed(1)} s`,
    );
  }
  // named again here, at the end, where a CI log cut to its last lines still shows them
  const failing = results.flatMap((r) => (r.count.failures ?? []).map((f) => `${r.name}: ${f}`));
  if (failing.length) console.log(`failing tests:\n${failing.map((f) => `  ${f}`).join("\n")}`);
  const passed = results.reduce((n, r) => n + r.count.passed, 0);
  const failed = results.reduce((n, r) => n + r.count.failed, 0);
  console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

if (import.meta.main) await main();
