/**
 * The Go checkers in deploy/tools, built into .tools/bin (git-ignored) from the Go module proxy:
 * dockerfile-lint (BuildKit's Dockerfile front end) and compose-config (compose-go, the library
 * inside `docker compose`). `go build` is incremental: about a second when nothing changed.
 */
import { join } from "node:path";
import { ROOT } from "./repo.ts";

export const BIN = join(ROOT, ".tools/bin");
let built = false;

export function buildGoTools(): void {
  if (built) return;
  if (!Bun.which("go")) throw new Error("go not found: the Dockerfile and compose checks build their checkers with Go");
  const r = Bun.spawnSync(["go", "build", "-o", `${BIN}/`, "./dockerfile-lint", "./compose-config"], {
    cwd: join(ROOT, "deploy/tools"),
    env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`could not build deploy/tools:\n${r.stderr.toString()}`);
  built = true;
}

export function runTool(name: "dockerfile-lint" | "compose-config", args: string[]) {
  const r = Bun.spawnSync([join(BIN, name), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}
