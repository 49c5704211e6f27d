/**
 * One throwaway world per test file: Redis + MongoDB-compatible server, the api and two
 * realtime replicas serving the freshly built frontend, and a headless Chromium.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext } from "playwright";
import { ROOT } from "../../scripts/lib/infra.ts";
import { startStack, type Stack } from "../../scripts/lib/stack.ts";
import { startTestInfra, type TestInfra } from "../../scripts/lib/testinfra.ts";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export type World = {
  infra: TestInfra;
  stack: Stack;
  browser: Browser;
  logs: string;
  /** the api's database (for tests that set up what no route can, e.g. a lost event) */
  mongoUrl: string;
  stop(): Promise<void>;
};

let built = false;
/** Builds frontend/dist once per process, with the same script `npm run build` runs. */
export async function buildFrontend(): Promise<string> {
  const dist = join(ROOT, "frontend/dist");
  if (!built) {
    const p = Bun.spawnSync([process.execPath, join(ROOT, "frontend/scripts/build.ts")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if (p.exitCode !== 0) throw new Error(`frontend build failed:\n${p.stderr.toString()}`);
    built = true;
  }
  return dist;
}

export async function startWorld(opts: { apiEnv?: Record<string, string> } = {}): Promise<World> {
  process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
  const staticDir = await buildFrontend();
  const infra = await startTestInfra();
  const logs = mkdtempSync(join(tmpdir(), "parley-e2e-logs-"));
  const mongoUrl = new URL(`/parley_e2e_${process.pid}`, infra.mongoUrl).toString();
  const stack = await startStack({
    mongoUrl,
    redisUrl: infra.redisUrl,
    jwtSecret: `e2e-secret-${crypto.randomUUID()}-${crypto.randomUUID()}`,
    replicas: 2,
    logs,
    staticDir,
    extraEnv: { LOG_LEVEL: "warn" },
    // a fresh database on a busy CI machine: the api's indexes may take a while (the error says why if not)
    readyTimeoutMs: 60_000,
    // every test registers its people from one address: the per-address limits would get in the way
    apiEnv: { REGISTER_RATE_MAX: "100000", CONVERSATION_CREATE_MAX: "100000", ...opts.apiEnv },
  });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  return {
    infra,
    stack,
    browser,
    mongoUrl,
    logs,
    async stop() {
      await browser.close().catch(() => undefined);
      await stack.stop();
      await infra.stop();
    },
  };
}

/**
 * A fresh browser profile (its own cookies), light or dark, desktop or phone size; or a copy
 * of another profile's cookies and localStorage (`from`), as the same person on another screen.
 */
export async function newContext(
  browser: Browser,
  opts: { width?: number; height?: number; dark?: boolean; from?: BrowserContext } = {},
): Promise<BrowserContext> {
  return browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    colorScheme: opts.dark ? "dark" : "light",
    reducedMotion: "reduce",
    storageState: opts.from ? await opts.from.storageState() : undefined,
  });
}
