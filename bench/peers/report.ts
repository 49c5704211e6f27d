/** bench/results/peer-realtime.md from the results of bench/peers/compare.ts. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/infra.ts";
import type { Result, Shape } from "./load.ts";

type ReportInput = {
  shape: Shape;
  results: Result[];
  /** per result, in the same order */
  quietness: { load: number; waited: number }[];
  order: string;
  redisKind: string;
  mongoKind: string;
};

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const mib = (kib: number) => (kib / 1024).toFixed(1);

function versionOf(pkgJson: string): string {
  try {
    return (JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

function debian(): string {
  try {
    return `Debian ${readFileSync("/etc/debian_version", "utf8").trim()}`;
  } catch {
    return "linux";
  }
}

export function renderReport({ shape, results, quietness, order, mongoKind }: ReportInput): string {
  const [a, b] = results as [Result, Result];
  const peerModules = join(ROOT, "bench/peers/socketio/node_modules");
  const node = Bun.spawnSync(["node", "--version"]).stdout.toString().trim();
  const cmd = `node_modules/.bin/bun bench/peers/compare.ts${shape.processes !== 2 ? ` --processes ${shape.processes}` : ""} --sockets ${shape.sockets} --rate ${shape.rate} --seconds ${shape.seconds} --warmup ${shape.warmupSeconds} --idle ${shape.idleSeconds} --settle ${shape.settleSeconds}${order === "peer first" ? " --peer-first" : ""}`;
  const row = (label: string, fa: (r: Result) => string) => `| ${label} | ${fa(a)} | ${fa(b)} |`;
  const rss = (xs: number[]) => `${xs.map(mib).join(" + ")} MiB`;
  const P = shape.processes;
  const servers = P === 2 ? "the two server processes" : `the ${P} server processes`;
  const all = P === 2 ? "both processes" : `all ${P} processes`;

  return `# Realtime fan-out side by side with Socket.IO 4 + redis-adapter

- date: ${new Date().toISOString()}
- machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${debian()}, kernel ${release()}
- runtimes: Parley realtime on Bun ${Bun.version}; the peer on Node ${node} (its native runtime: the peer is not part of the product, so it runs where its users run it) with socket.io ${versionOf(join(peerModules, "socket.io/package.json"))}, @socket.io/redis-adapter ${versionOf(join(peerModules, "@socket.io/redis-adapter/package.json"))}, @socket.io/redis-emitter ${versionOf(join(peerModules, "@socket.io/redis-emitter/package.json"))}, socket.io-client ${versionOf(join(peerModules, "socket.io-client/package.json"))}
- infrastructure: one throwaway redis-server 7 on loopback shared by both runs (one after the other); Parley's api (+ ${mongoKind}) runs too, because realtime asks it for the user's conversations once per socket open; its CPU and memory are not counted
- command: \`${cmd}\`
- order: ${order}, one after the other
- machine load (1-minute load average) at the start / end of each run: ${results.map((r, i) => `${r.name.split(" ")[0]} ${f2(r.load.before)} / ${f2(r.load.after)} (waited ${quietness[i]?.waited ?? 0} s for it to fall below the threshold)`).join("; ")}

## Load shape (the same for both)
- ${shape.sockets} idle client sockets, one per user, round-robin over ${servers} (of each service), opened 50 at a time from the bench process
  (Bun's WebSocket for Parley with a session JWT signed with the replicas' secret; \`socket.io-client\` with \`transports: ["websocket"]\` for the peer).
  The bench process's own memory and CPU are not counted.
- idle memory: VmRSS of ${servers} ${shape.settleSeconds} s after they were ready (baseline), 3 s after the last socket said ready, and again
  after ${shape.idleSeconds} s more idle (the figure per socket in bold: by then the garbage of the connection burst has mostly been collected); the idle CPU figure is over those ${shape.idleSeconds} s.
- delivery: ${shape.warmupSeconds} s warm-up, then ${shape.rate} events/s for ${shape.seconds} s (${shape.rate * shape.seconds} events), event n to user (n·7919 mod ${shape.sockets}), i.e. to exactly one socket.
  Parley: a \`FanoutEvent\` \`{frame:{type:"message",message},committedAt}\` routed to the user by kit/route (as the api does after a commit);
  peer: the same \`message\` frame emitted to room \`user:<id>\` through @socket.io/redis-emitter (as a separate api would).
  Latency = receipt in the client − publish time (performance.now() carried in the message body; same process, same clock).
  CPU = utime+stime (/proc/<pid>/stat) of ${servers}, and separately of redis-server, from the first measured publish to the last delivery.

## Results

| measure | ${a.name} | ${b.name} |
|---|---|---|
${row(`RSS of the ${P} servers, before sockets`, (r) => rss(r.rssBeforeKiB))}
${row(`RSS of the ${P} servers, with ${shape.sockets} sockets`, (r) => rss(r.rssAfterKiB))}
${row(`RSS of the ${P} servers, after ${shape.idleSeconds} s more idle`, (r) => rss(r.rssAfterIdleKiB))}
${row("memory per idle socket, 3 s after the last opened", (r) => `${f1(r.kibPerSocket)} KiB`)}
${row(`**memory per idle socket** (after ${shape.idleSeconds} s more idle)`, (r) => `**${f1(r.kibPerSocketAfterIdle)} KiB**`)}
${row(`time to open ${shape.sockets} sockets (50 at a time)`, (r) => `${f1(r.openSeconds)} s`)}
${row("Redis subscriptions with the sockets open", (r) => `${r.subscriptions.channels} channels, ${r.subscriptions.patterns} pattern${r.subscriptions.patterns === 1 ? "" : "s"}`)}
${row(`idle server CPU (${all})`, (r) => `${f1(r.idleCpuMsPerSecond)} ms/s`)}
${row("idle Redis CPU", (r) => `${f1(r.idleRedisCpuMsPerSecond)} ms/s`)}
${row("events published / delivered", (r) => `${r.published} / ${r.delivered} (publishing took ${f1(r.publishSeconds)} s)`)}
${row("**delivery latency p50**", (r) => `**${f2(r.p50)} ms**`)}
${row("**delivery latency p99**", (r) => `**${f2(r.p99)} ms**`)}
${row("delivery latency max", (r) => `${f2(r.max)} ms`)}
${row(`**server CPU per 1000 events** (${all})`, (r) => `**${f1(r.serverCpuMsPer1000)} ms**`)}
${row("Redis CPU per 1000 events", (r) => `${f1(r.redisCpuMsPer1000)} ms`)}
${row(`events to users with no socket: published`, (r) => `${r.offline.published}`)}
${row(`… server CPU per 1000 such events (${all})`, (r) => `${f1(r.offline.serverCpuMsPer1000)} ms`)}
${row("… Redis CPU per 1000 such events", (r) => `${f1(r.offline.redisCpuMsPer1000)} ms`)}
${row("(idle server CPU over the same time, per 1000 events at this rate, for reference)", (r) => `${f1((r.idleCpuMsPerSecond * 1000) / shape.rate)} ms`)}

CPU times come from clock ticks of 10 ms, so per-1000-event figures of a few ms carry ±10 ms / (events/1000) of rounding.

## Reading

What differs in the designs:
- **Parley** subscribes one Redis channel per connected user on the replica holding that user's socket(s)
  (\`parley:user:<id>\`, reference-counted; plus presence channels of contacts, none in this load because the bench users share no
  conversation). A PUBLISH reaches only the replica(s) that have the user: Redis does the routing, a replica never sees events for
  users it does not hold, and each replica's work grows with its own users' traffic. The price: one SUBSCRIBE per user at connect
  (the \`ready\` frame waits for Redis to confirm it), Redis keeps a channel per connected user (the subscriptions row), and Parley also
  keeps a presence registry in Redis: every replica refreshes its users' entries every 5 s (one pipeline per replica) and sweeps
  for entries of crashed replicas every 2 s, which is the idle CPU it spends and the peer does not (the peer has no presence).
- **Socket.IO's redis adapter** (default, non-sharded) has every process PSUBSCRIBE to one pattern \`socket.io#/#*\`; the emitter
  publishes to \`socket.io#/#user:<id>#\`, so **every process receives every event** and drops those for rooms it does not have
  (a string check before decoding). With 2 processes half of what each receives is thrown away; with P processes, (P−1)/P of it:
  total receive work grows with events × processes, so adding processes adds sockets capacity but not fan-out capacity; Redis also
  matches every PUBLISH against each process's pattern and sends it once per process. Rooms cost no Redis state at all, and joining a room is local and instant.
  (@socket.io/redis-adapter also ships a *sharded* adapter for Redis 7 sharded pub/sub with \`subscriptionMode: "dynamic"\`, which
  subscribes per room like Parley does; it is not what this bench runs, and not the adapter's default.)
- Socket.IO frames carry its own protocol (engine.io + socket.io packet framing, msgpack between the emitter and the servers,
  heartbeats from the server every 25 s); Parley sends the JSON frame as-is over a plain WebSocket, with Bun's native pings.
- Authentication: Parley verifies an HS256 JWT at the upgrade and asks the api for the user's conversations once per socket; the
  peer trusts a user id in the handshake (no JWT: its verification would add the same small cost to it, and it is outside what is
  compared here). Open times therefore favour the peer and say little; memory and delivery figures are unaffected.

What the figures can and cannot say:
- Both servers ran on the same 2 cores as the bench process (the client sockets and the publisher) and Redis, on a machine other
  engineers' test runs were using too (see the load averages above): latency tails (p99, max) track that CPU contention more than
  either server, and differ from run to run; p50 and the CPU-per-event figures are the steadier ones.
- "Server CPU per 1000 events" mixes two things on the peer's side: Node + Socket.IO's per-event work (msgpack decode, packet
  encoding, engine.io framing) and the adapter's broadcast design (each event reaches every process). The "users with no socket"
  rows separate the second: there no process has the room, so what the peer spends is pure receive-and-drop work, which every
  process pays for every event in the system and which multiplies with the number of processes; Parley's replicas are not sent
  such events at all (Redis drops a PUBLISH with no subscriber), so theirs stays at the idle level.
- Memory per socket is an RSS delta, i.e. it includes garbage not yet collected and allocator slack, and it moves whenever a
  garbage collection happens to run (V8 shrinks its heap after a major GC: in one run a Socket.IO process lost 15 MiB of RSS in
  the idle seconds, taking its figure from 27 to 11 KiB per socket, and with a baseline taken 2 s after start, when start-up
  garbage was still counted, another run ended below its baseline). Read it as a rough figure. Parley's includes its per-user
  state (the channel subscription, presence entry, conversations membership, the socket's session timer).
- This run used ${P} processes of each (\`--processes\` changes it, up to 8 on these 2 cores); it does not measure 10 or 50 processes, where the broadcast
  cost above grows linearly for the peer and Redis's per-channel bookkeeping grows with connected users for Parley.
`;
}
