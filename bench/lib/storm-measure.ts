/**
 * Measuring tools of the reconnect-storm benchmark: timing sockets to `ready`, Prometheus
 * counters before/after, the event-loop lag of the bench process itself, resident memory, and
 * the open-file limit a run of thousands of sockets needs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { ServerFrame } from "@parley/contract/frames";
import { SQL } from "bun";
import { procFigures } from "../peers/load.ts";
import { percentile } from "./procs.ts";

/**
 * Opens one socket per token on `url`, `batch` at a time (each batch waits for all its `ready`),
 * and says how long until every one was ready; the sockets stay open (close them with the
 * returned function).
 */
export async function timeSocketsReady(
  url: string,
  tokens: readonly string[],
  batch: number,
): Promise<{ ms: number; perSocket: { p50: number; p99: number; max: number }; close: () => Promise<void> }> {
  const sockets: WebSocket[] = [];
  const each: number[] = [];
  const open = (token: string) =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}/ws?token=${token}`);
      sockets.push(ws);
      const timer = setTimeout(() => reject(new Error("a socket was not ready after 60 s")), 60_000);
      ws.onmessage = (e) => {
        if ((JSON.parse(String(e.data)) as ServerFrame).type !== "ready") return;
        clearTimeout(timer);
        each.push(performance.now() - t0);
        resolve();
      };
      ws.onclose = (e) => reject(new Error(`a socket closed before ready: ${e.code}`));
    });
  const t0 = performance.now();
  for (let i = 0; i < tokens.length; i += batch) await Promise.all(tokens.slice(i, i + batch).map(open));
  const ms = performance.now() - t0;
  each.sort((a, b) => a - b);
  return {
    ms,
    perSocket: { p50: percentile(each, 0.5), p99: percentile(each, 0.99), max: each.at(-1) ?? Number.NaN },
    async close() {
      const closed = sockets.map((ws) => new Promise<void>((r) => ws.addEventListener("close", () => r())));
      for (const ws of sockets) {
        ws.onclose = null;
        ws.close();
      }
      await Promise.race([Promise.all(closed), Bun.sleep(10_000)]);
    },
  };
}

/** `name{labels} value` lines of a Prometheus text page, by `name{labels}`. */
export async function scrape(url: string, saveTo?: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const text = await fetch(url)
    .then((r) => r.text())
    .catch(() => "");
  if (saveTo) writeFileSync(saveTo, text);
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Counters that grew between two scrapes, among the series whose name starts with one of `names`. */
export function grown(before: Map<string, number>, after: Map<string, number>, names: string[]): [string, number][] {
  const rows: [string, number][] = [];
  for (const [series, v] of after) {
    if (!names.some((n) => series.startsWith(n))) continue;
    const d = v - (before.get(series) ?? 0);
    if (d > 0) rows.push([series, d]);
  }
  return rows.sort((a, b) => b[1] - a[1]);
}

/** How late this process's timers fire: a busy bench process would be measuring itself. */
export class LoopLag {
  private lags: number[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = performance.now();
  private static readonly EVERY_MS = 20;
  start(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lags.push(Math.max(0, now - this.last - LoopLag.EVERY_MS));
      this.last = now;
    }, LoopLag.EVERY_MS);
  }
  /** p99 and max since the last take, then starts over */
  take(): { p99: number; max: number } {
    const l = this.lags.sort((a, b) => a - b);
    this.lags = [];
    return { p99: percentile(l, 0.99), max: l.at(-1) ?? 0 };
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Resident memory of a process in MiB (NaN once it is gone). */
export function rssMiB(pid: number): number {
  try {
    return procFigures(pid).rssKiB / 1024;
  } catch {
    return Number.NaN;
  }
}

/** This process's open-file limits (soft, hard). */
export function fileLimits(): { soft: number; hard: number } {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((l) => l.startsWith("Max open files"));
  const [soft, hard] = (line?.match(/\d+|unlimited/g) ?? []).map((v) => (v === "unlimited" ? Infinity : Number(v)));
  return { soft: soft ?? 0, hard: hard ?? 0 };
}

/** What PostgreSQL did so far for one MongoDB database (a FerretDB schema): scans and rows read per collection, commits. */
export async function databaseWork(
  postgresUrl: string,
  schema: string,
): Promise<{ tables: Map<string, { scans: number; rows: number }>; commits: number }> {
  const sql = new SQL(postgresUrl, { max: 1 });
  try {
    // statistics reach the views within a second of the statements that made them
    await Bun.sleep(1000);
    const rows = (await sql`
      select relname as name,
             (coalesce(seq_scan, 0) + coalesce(idx_scan, 0))::int8 as scans,
             (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::int8 as rows
      from pg_stat_user_tables where schemaname = ${schema}`) as { name: string; scans: bigint; rows: bigint }[];
    const [db] =
      (await sql`select xact_commit::int8 as commits from pg_stat_database where datname = current_database()`) as {
        commits: bigint;
      }[];
    const tables = new Map<string, { scans: number; rows: number }>();
    // FerretDB names a collection's table `<collection>_<hash>`
    for (const r of rows)
      tables.set(r.name.replace(/_[0-9a-f]{8}$/, ""), { scans: Number(r.scans), rows: Number(r.rows) });
    return { tables, commits: Number(db?.commits ?? 0) };
  } finally {
    await sql.close();
  }
}
