/**
 * What the launchers share: where the repository and its tools are, finding and installing
 * programs, and starting and stopping the processes they run.
 */
import { resolve, join } from "node:path";
import { Socket } from "node:net";

export const ROOT = resolve(import.meta.dir, "../..");
export const TOOLS_BIN = join(ROOT, ".tools/bin");
/** A process we started; `stopSignal` is what asks it to stop gracefully (SIGTERM unless said). */
export type Child = { name: string; proc: Bun.Subprocess; stopSignal?: NodeJS.Signals };

export function which(cmd: string): string | null {
  return Bun.which(cmd, { PATH: `${TOOLS_BIN}:${process.env.PATH ?? ""}:/usr/local/go/bin` });
}

export function run(cmd: string[], env: Record<string, string> = {}): boolean {
  const r = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit", env: { ...process.env, ...env } });
  return r.exitCode === 0;
}

export const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Installs a Debian package when we may; otherwise says exactly what to run. */
export function aptInstall(pkg: string, binary: string, aptOptions: string[] = []): string {
  if (isRoot() && which("apt-get")) {
    console.error(`[infra] ${binary} not found; installing the Debian package ${pkg}…`);
    run(["apt-get", "update", "-qq"]);
    if (run(["apt-get", "install", "-y", "-qq", ...aptOptions, pkg], { DEBIAN_FRONTEND: "noninteractive" })) {
      const found = which(binary);
      if (found) return found;
    }
  }
  throw new Error(`${binary} is not installed. Install it with: sudo apt-get install -y ${pkg}`);
}

export function tcpOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
    s.connect(port, host);
  });
}

/** Every process this launcher has spawned and that still runs, in the order they started. */
const running = new Set<Child>();

/**
 * The processes still running that this launcher started, oldest first: what Ctrl-C must stop
 * even when it comes in the middle of start-up, before the code that spawned them has returned.
 */
export function runningChildren(): Child[] {
  return [...running];
}

export function spawnLogged(
  name: string,
  cmd: string[],
  opts: { quiet?: boolean; logFile?: string; env?: Record<string, string> },
): Child {
  const out = opts.logFile ? Bun.file(opts.logFile) : opts.quiet ? "ignore" : "inherit";
  const proc = Bun.spawn(cmd, { stdout: out, stderr: out, stdin: "ignore", env: { ...process.env, ...opts.env } });
  const child = { name, proc };
  running.add(child);
  void proc.exited.then(() => running.delete(child));
  return child;
}

/**
 * Stops children one at a time, last started first (realtime, then the api, then the database
 * and Redis), so each can finish its in-flight work against dependencies that are still up.
 * Each gets SIGTERM, then SIGKILL if it is still alive after `graceMs`.
 */
export async function stopAll(children: Child[], graceMs = 10_000): Promise<void> {
  for (const c of [...children].reverse()) {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
    c.proc.kill(c.stopSignal ?? "SIGTERM");
    const exited = await Promise.race([c.proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) c.proc.kill("SIGKILL");
    await c.proc.exited;
  }
}
