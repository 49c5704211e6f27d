/**
 * A throwaway Redis Cluster of three masters (no replicas) on loopback ports, for the cluster
 * tests: Debian's redis-server in cluster mode, joined with `redis-cli --cluster create`.
 *
 * Each node keeps its nodes.conf in a folder of its own, so `restart(i)` brings a master back
 * on the same port with the same identity and slots (its data is gone: no persistence, as in
 * every test Redis). `cluster-require-full-coverage no` keeps the other shards serving while
 * one is away: the shard restart this exists for.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureRedisServer } from "./infra.ts";
import { freePort, isPortFree, waitFor } from "./ports.ts";
import { spawnLogged, stopAll, which, type Child } from "./system.ts";

export type RedisCluster = {
  ports: number[];
  /** `127.0.0.1:P1,127.0.0.1:P2,…`: the value of REDIS_CLUSTER_NODES */
  nodes: string;
  dir: string;
  /** Runs redis-cli against one node (e.g. `["cluster", "keyslot", key]`); returns its output. */
  cli(port: number, ...args: string[]): string;
  /** The port of the master serving `key`'s slot (a shard channel's slot is computed the same way). */
  portOf(key: string): number;
  stopNode(index: number): Promise<void>;
  startNode(index: number): Promise<void>;
  stop(): Promise<void>;
};

/** The cluster bus listens on port + 10000: both must be free. */
async function nodePort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p + 10_000 > 65_535 || taken.has(p)) continue;
    if (await isPortFree(p + 10_000)) return p;
  }
  throw new Error("no free port pair (P, P+10000) for a cluster node");
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const bin = ensureRedisServer();
  const cliBin = which("redis-cli") ?? "redis-cli";
  const dir = mkdtempSync(join(tmpdir(), "parley-redis-cluster-"));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters; i++) {
    const p = await nodePort(taken);
    taken.add(p);
    ports.push(p);
  }
  const children: (Child | undefined)[] = [];

  const cli = (port: number, ...args: string[]) => {
    const r = Bun.spawnSync([cliBin, "-p", String(port), ...args]);
    if (r.exitCode !== 0) throw new Error(`redis-cli -p ${port} ${args.join(" ")}: ${r.stderr.toString()}`);
    return r.stdout.toString().trim();
  };
  const answers = (port: number) => {
    try {
      return cli(port, "ping") === "PONG";
    } catch {
      return false;
    }
  };
  const clusterOk = (port: number) => {
    try {
      return cli(port, "cluster", "info").includes("cluster_state:ok");
    } catch {
      return false;
    }
  };

  const spawnNode = (i: number) => {
    const port = ports[i]!;
    const nodeDir = join(dir, `node-${port}`);
    mkdirSync(nodeDir, { recursive: true });
    children[i] = spawnLogged(
      `redis-cluster-${port}`,
      [
        bin,
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        nodeDir,
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
        "--cluster-require-full-coverage",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      { logFile: join(dir, `node-${port}.log`) },
    );
  };

  const stop = async () => {
    await stopAll(
      children.filter((c): c is Child => c !== undefined),
      5000,
    );
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < ports.length; i++) spawnNode(i);
    for (const p of ports) await waitFor(`cluster node on ${p}`, () => answers(p), 15_000);
    const create = Bun.spawnSync([
      cliBin,
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    if (create.exitCode !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const p of ports) await waitFor(`cluster_state:ok on ${p}`, () => clusterOk(p), 30_000);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    ports,
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(","),
    dir,
    cli,
    portOf(key: string) {
      const slot = Number(cli(ports[0]!, "cluster", "keyslot", key));
      const shards = JSON.parse(cli(ports[0]!, "--json", "cluster", "slots")) as [number, number, [string, number]][];
      const owner = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      return Number(owner[2][1]);
    },
    async stopNode(i: number) {
      const c = children[i];
      if (c) await stopAll([c], 5000);
    },
    async startNode(i: number) {
      spawnNode(i);
      const port = ports[i]!;
      await waitFor(`cluster node on ${port} back`, () => answers(port), 15_000);
      for (const p of ports) await waitFor(`cluster_state:ok on ${p} after a restart`, () => clusterOk(p), 30_000);
    },
    stop,
  };
}
