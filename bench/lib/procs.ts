/** CPU time of processes and process trees, read from /proc, for per-process CPU figures. */
import { readdirSync, readFileSync } from "node:fs";

export const CLK_TCK = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;

function stat(pid: number): { ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the parenthesised command name (which may contain spaces): state is field 3,
    // ppid field 4, utime field 14, stime field 15
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null; // gone
  }
}

/** CPU milliseconds used so far by `pid` and, with `tree`, by its live descendants. */
export function cpuMs(pid: number, tree = false): number {
  const own = stat(pid)?.ticks ?? 0;
  if (!tree) return (own * 1000) / CLK_TCK;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const s = stat(p);
    if (!s) continue;
    ticks.set(p, s.ticks);
    const list = children.get(s.ppid) ?? [];
    list.push(p);
    children.set(s.ppid, list);
  }
  let total = 0;
  const walk = (p: number) => {
    total += ticks.get(p) ?? 0;
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return (total * 1000) / CLK_TCK;
}

/** A set of named processes whose CPU use over an interval is reported in % of one core. */
export class CpuMeter {
  private start = new Map<string, number>();
  private t0 = 0;
  constructor(private readonly procs: { name: string; pid: number; tree?: boolean }[]) {}
  begin() {
    this.t0 = performance.now();
    for (const p of this.procs) this.start.set(p.name, cpuMs(p.pid, p.tree));
  }
  /** % of one core per process since begin() */
  end(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const out: Record<string, number> = {};
    for (const p of this.procs)
      out[p.name] = ((cpuMs(p.pid, p.tree) - (this.start.get(p.name) ?? 0)) / 1000 / seconds) * 100;
    return out;
  }
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
