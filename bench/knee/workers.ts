/**
 * The worker processes of bench/fanout-knee.ts (client.ts, publisher.ts): Bun processes with
 * an IPC channel, asked one thing at a time. Every one started is stopped by `stopWorkers`,
 * also when the bench fails or is interrupted.
 */
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/infra.ts";
import { profiling } from "../../scripts/lib/stack.ts";
import { epochNow } from "./protocol.ts";

type Reply = { op: string; message?: string };
type Waiter = { resolve(m: Reply): void; reject(e: Error): void };

const all = new Set<Worker<object, Reply>>();

export class Worker<In extends object, Out extends Reply> {
  readonly proc: Bun.Subprocess;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly name: string,
    script: string,
  ) {
    // PROFILE_DIR set: it writes a CPU profile as the services do (scripts/lib/stack.ts)
    this.proc = Bun.spawn([process.execPath, ...profiling(name), join(ROOT, script)], {
      cwd: ROOT,
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
      serialization: "json",
      ipc: (m: Reply) => this.received(m),
    });
    all.add(this as unknown as Worker<object, Reply>);
    void this.proc.exited.then((code) => {
      all.delete(this as unknown as Worker<object, Reply>);
      for (const w of this.waiters.splice(0)) w.reject(new Error(`${name} exited (${code})`));
    });
  }

  private received(m: Reply): void {
    const w = this.waiters.shift();
    if (!w) {
      console.error(`[${this.name}] unexpected ${JSON.stringify(m).slice(0, 200)}`);
      return;
    }
    if (m.op === "error") w.reject(new Error(`${this.name}: ${m.message}`));
    else w.resolve(m);
  }

  /** Sends `m` and resolves with the worker's reply (in order), failing after `timeoutMs`. */
  ask<R extends Out>(m: In, timeoutMs = 30_000): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no answer to ${JSON.stringify(m).slice(0, 80)}`)),
        timeoutMs,
      );
      this.waiters.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as R);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send(m);
    });
  }

  /** Asks the worker to close (it exits), and kills it if it has not after 3 s. */
  async close(m: In): Promise<void> {
    if (this.proc.exitCode !== null) return;
    try {
      this.proc.send(m);
    } catch {
      // its channel is already gone
    }
    const exited = await Promise.race([this.proc.exited.then(() => true), Bun.sleep(3000).then(() => false)]);
    if (!exited) this.proc.kill("SIGKILL");
  }
}

/**
 * How far the worker's clock (epochNow) may be from this process's: of 5 round trips, the
 * shortest one's |offset| plus half its duration.
 */
export async function clockBound(w: Worker<{ op: "clock" }, { op: "clock"; t: number }>): Promise<number> {
  let best = { rtt: Number.POSITIVE_INFINITY, bound: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 5; i++) {
    const a = epochNow();
    const { t } = await w.ask({ op: "clock" });
    const b = epochNow();
    if (b - a < best.rtt) best = { rtt: b - a, bound: Math.abs(t - (a + b) / 2) + (b - a) / 2 };
  }
  return best.bound;
}

/** Kills every worker still running (on failure or interruption). */
export function stopWorkers(): void {
  for (const w of all) w.proc.kill("SIGKILL");
}
