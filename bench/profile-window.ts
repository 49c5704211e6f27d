/**
 * Where a service's CPU went during one stretch of a benchmark: reads a Chrome `.cpuprofile`
 * (what `bun --cpu-prof` writes with PROFILE_DIR set) and counts its samples between two
 * moments, by function, self and inclusive. Bun takes a sample per millisecond of JavaScript
 * running and none while the process waits, so a count is milliseconds of CPU; the time columns
 * of Bun's own markdown summary weigh each sample by the gap before it, idle waits included.
 *
 *   node_modules/.bin/bun bench/profile-window.ts <file.cpuprofile> [--from <epoch ms>] [--to <epoch ms>] [--top 40]
 *
 * The reconnect-storm result names the window of its storm (kill → every user back).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

type Frame = { functionName: string; url: string; lineNumber: number };
type Node = { id: number; callFrame: Frame; children?: number[] };
type Profile = { nodes: Node[]; startTime: number; samples: number[]; timeDeltas: number[] };

export type Counted = { fn: string; self: number; total: number };

const label = (f: Frame) =>
  `${f.functionName || "(anonymous)"} ${f.url ? `${f.url.replace(/^.*\/(node_modules|wt-[^/]+|work)\//, "")}:${f.lineNumber + 1}` : "[native]"}`;

/** Samples between `from` and `to` (epoch ms), counted per function: self, and inclusive (once per sample). */
export function countWindow(profile: Profile, from = 0, to = Number.POSITIVE_INFINITY) {
  const parent = new Map<number, number>();
  const byId = new Map<number, Node>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let t = profile.startTime; // µs since the epoch
  let samples = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] ?? 0;
    if (t / 1000 < from || t / 1000 > to) return;
    samples++;
    const leaf = label(byId.get(id)!.callFrame);
    self.set(leaf, (self.get(leaf) ?? 0) + 1);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const l = label(byId.get(n)!.callFrame);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + 1);
    }
  });
  const rows: Counted[] = [...total].map(([fn, tot]) => ({ fn, self: self.get(fn) ?? 0, total: tot }));
  return { samples, rows };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { from: { type: "string" }, to: { type: "string" }, top: { type: "string", default: "40" } },
  });
  const file = positionals[0];
  if (!file) {
    console.error(
      "usage: bun bench/profile-window.ts <file.cpuprofile> [--from <epoch ms>] [--to <epoch ms>] [--top 40]",
    );
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const { samples, rows } = countWindow(
    profile,
    values.from ? Number(values.from) : 0,
    values.to ? Number(values.to) : Number.POSITIVE_INFINITY,
  );
  const top = Number(values.top);
  const pct = (n: number) => `${((n / Math.max(samples, 1)) * 100).toFixed(1)} %`;
  console.log(`${samples} samples (≈ ms of CPU running JavaScript) in the window\n`);
  console.log("| self | % | function |\n|---:|---:|---|");
  for (const r of [...rows].sort((a, b) => b.self - a.self).slice(0, top))
    console.log(`| ${r.self} | ${pct(r.self)} | \`${r.fn}\` |`);
  console.log("\n| inclusive | % | function |\n|---:|---:|---|");
  for (const r of [...rows].sort((a, b) => b.total - a.total).slice(0, top))
    console.log(`| ${r.total} | ${pct(r.total)} | \`${r.fn}\` |`);
}
