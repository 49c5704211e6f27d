/**
 * What routing one event costs Redis and the publisher: their CPU per event for a room of 10
 * whose members sit on two replicas, several ways, on a throwaway redis-server with a subscriber
 * on every channel published to:
 *   - per user: ten PUBLISHes, one per member's channel (what the api did before kit/route, and
 *     still does on a Redis Cluster);
 *   - kit/route: one MGET of the members' routes, then one PUBLISH per replica naming its
 *     recipients (EventRouter, what the api did on one server before marks);
 *   - kit/route with marks (what the api does on one server): the same, and before the MGET each
 *     member's newest mark recorded (one HSET for the event, one ZADD per round trip; kit/marks);
 *   - kit/route with marks in one round trip: the PUBLISHes sent with the MGET, to the replicas
 *     the routes named when last read, in a MULTI so nothing goes unless the marks were recorded
 *     (tried, not kept: the router remembering routes and publishing late where they changed
 *     cost the publisher as much as the round trip it saved; bench/README.md);
 *   - one Lua script reading each member's presence set and publishing per replica (the same
 *     routing in one step; tried, not kept);
 *   - one Lua script per round of 10 events doing what kit/route with marks does (the marks'
 *     HSET, the routes' MGET, a PUBLISH per replica): one round trip instead of two (tried, not
 *     kept: Redis, shared by every replica, does the grouping);
 *   - kit/route with marks, its very commands and round trips sent by Bun's own Redis client
 *     (`RedisClient` from "bun", native, pipelining what is sent in one turn) instead of ioredis:
 *     what the publisher's JavaScript per argument costs (measured, not used by the product).
 *
 *   node_modules/.bin/bun bench/route-cost.ts [--events 20000] [--batch 100] [--out bench/results/route-cost.md]
 *
 * Redis CPU is utime+stime of the redis-server process over the run, divided by the events; the
 * publisher's is this process's own.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RedisClient } from "bun";
import Redis from "ioredis";
import { encodeFanoutEvent, presenceKeys, REPLICA_CHANNEL, replicaChannel, userChannel } from "@parley/contract/frames";
import { MARKS_PUBLISHERS_KEY, Marker, marksKey } from "@parley/kit/marks";
import { EventRouter, type Routed, routedMessages } from "@parley/kit/route";
import { startRedis, stopAll } from "../scripts/lib/infra.ts";
import { freePort, waitFor } from "../scripts/lib/ports.ts";
import { cpuMs } from "./lib/procs.ts";
import { messageFrame } from "./peers/servers.ts";

const SINK = join(import.meta.dir, "lib/subscriber-sink.ts");

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "20000" },
    /** events per pipeline (per round trip): 100, or 10 as the knee's publisher sends in a 1 ms tick at 10,000/s */
    batch: { type: "string", default: "100" },
    out: { type: "string", default: "bench/results/route-cost.md" },
  },
});
const EVENTS = Math.max(1000, Number(values.events));
// a multiple of 10: the Lua way sends rounds of ROUND events
const BATCH = Math.max(10, Math.min(1000, Math.round(Number(values.batch) / 10) * 10));

/**
 * kit/route with marks in one step per round: KEYS publishers, marks, then the routes; ARGV
 * prefix, publisher, now, M, the M mark fields (user, n: one pair per route key, in the same
 * order, so user u's id is ARGV[4 + 2u - 1]), then per event: count, payload, user indexes.
 */
const ROUND_SCRIPT = `
local prefix, publisher, M = ARGV[1], ARGV[2], tonumber(ARGV[4])
if M > 0 then
  redis.call('ZADD', KEYS[1], ARGV[3], publisher)
  redis.call('HSET', KEYS[2], unpack(ARGV, 5, 4 + M))
end
local routes = redis.call('MGET', unpack(KEYS, 3))
local i = 5 + M
while i <= #ARGV do
  local c, payload = tonumber(ARGV[i]), ARGV[i + 1]
  local order, named = {}, {}
  for j = i + 2, i + 1 + c do
    local u = tonumber(ARGV[j])
    local r = routes[u]
    if r then
      local id = ARGV[4 + 2 * u - 1]
      for replica in string.gmatch(r, '[^,]+') do
        local ids = named[replica]
        if not ids then ids = {}; named[replica] = ids; order[#order + 1] = replica end
        ids[#ids + 1] = id
      end
    end
  end
  for _, replica in ipairs(order) do
    redis.call('PUBLISH', prefix .. replica, table.concat(named[replica], ',') .. '\\n' .. payload)
  end
  i = i + 2 + c
end
return 1`;
const ROUND = 10;

/** The routing in one Lua step, as first tried: each member's presence set read inside the script. */
const ROUTE_SCRIPT = `
local ids, order = {}, {}
for i, key in ipairs(KEYS) do
  for _, replica in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local named = ids[replica]
    if not named then named = {}; ids[replica] = named; order[#order + 1] = replica end
    named[#named + 1] = ARGV[i + 2]
  end
end
for _, replica in ipairs(order) do
  redis.call('PUBLISH', ARGV[1] .. replica, table.concat(ids[replica], ',') .. '\\n' .. ARGV[2])
end
return #order`;

const dir = mkdtempSync(join(tmpdir(), "parley-bench-route-"));
const port = await freePort();
const redisChild = await startRedis({ port, dataDir: join(dir, "redis"), persist: false, quiet: true });
const url = `redis://127.0.0.1:${port}`;
const commands = new Redis(url);
/** the subscribers, each its own process that reads and discards: neither Redis' CPU nor the publisher's */
const listeners: ReturnType<typeof Bun.spawn>[] = [];
try {
  const members = Array.from({ length: 10 }, (_, i) => `${"0".repeat(22)}${String(i).padStart(2, "0")}`);
  const replicaOf = (i: number) => (i < 5 ? "replica-a" : "replica-b");
  for (const [i, id] of members.entries()) {
    await commands.set(presenceKeys.route(id), replicaOf(i));
    await commands.zadd(presenceKeys.user(id), Date.now() + 3_600_000, replicaOf(i));
  }
  // every channel published to has a subscriber, as in production (a replica's own, or a user's)
  const followed = [
    [replicaChannel("replica-a"), ...members.slice(0, 5).map(userChannel)],
    [replicaChannel("replica-b"), ...members.slice(5).map(userChannel)],
  ];
  for (const channels of followed)
    listeners.push(Bun.spawn([process.execPath, SINK, String(port), ...channels], { stdout: "ignore" }));
  const everyChannelFollowed = async () => {
    const counts = (await commands.call("PUBSUB", "NUMSUB", ...followed.flat())) as (string | number)[];
    return counts.filter((_, i) => i % 2 === 1).every((n) => Number(n) === 1);
  };
  await waitFor("every channel followed by the subscribers", everyChannelFollowed, 5000);
  const payload = encodeFanoutEvent(
    messageFrame({ seq: 1, body: "a message of ordinary length, about the size people send", senderId: members[0]! }),
    Date.now(),
  );
  commands.defineCommand("routeInOneStep", { lua: ROUTE_SCRIPT });
  commands.defineCommand("routeRound", { lua: ROUND_SCRIPT });
  const router = new EventRouter(commands);
  // both kit/route ways encode each event as the api does (a marked one must: its mark differs)
  let seq = 0;
  const frameOf = () =>
    messageFrame({
      seq: ++seq,
      body: "a message of ordinary length, about the size people send",
      senderId: members[0]!,
    });
  const plainEvent = (): Routed => ({ userIds: members, payload: encodeFanoutEvent(frameOf(), Date.now()) });
  const marker = new Marker();
  const markedRouter = new EventRouter(commands, marker);
  const markedEvent = (): Routed => {
    const { n, mark } = marker.next();
    return { userIds: members, payload: encodeFanoutEvent({ ...frameOf(), mark }, Date.now()), mark: n };
  };
  const presence = members.map(presenceKeys.user);
  const native = new RedisClient(url);
  await native.connect();
  /** kit/route with marks' two round trips (its grouping by replica: routedMessages), on Bun's client */
  const nativeRoute = async (events: Routed[]) => {
    const key = marksKey(marker.publisher);
    const marked = [native.send("ZADD", [MARKS_PUBLISHERS_KEY, String(Date.now()), marker.publisher])];
    for (const e of events) marked.push(native.send("HSET", [key, ...e.userIds.flatMap((m) => [m, String(e.mark)])]));
    const reads = events.map(
      (e) => native.send("MGET", e.userIds.map(presenceKeys.route)) as Promise<(string | null)[]>,
    );
    await Promise.all(marked);
    const routes = await Promise.all(reads);
    const publishes: Promise<unknown>[] = [];
    events.forEach((e, i) => {
      for (const { channel, message } of routedMessages(e.userIds, routes[i]!, e.payload))
        publishes.push(native.send("PUBLISH", [channel, message]));
    });
    return Promise.all(publishes);
  };

  const ways: { name: string; batch: () => Promise<unknown> }[] = [
    {
      name: "per user: ten PUBLISHes, one per member's channel",
      batch: () => {
        const p = commands.pipeline();
        for (let i = 0; i < BATCH; i++) for (const m of members) p.publish(userChannel(m), payload);
        return p.exec();
      },
    },
    {
      name: "kit/route: one MGET of the routes, one PUBLISH per replica",
      batch: () => router.publishOrThrow(Array.from({ length: BATCH }, plainEvent)),
    },
    {
      name: "kit/route with marks: one HSET of the members' marks, one MGET, one PUBLISH per replica",
      batch: () => markedRouter.publishOrThrow(Array.from({ length: BATCH }, markedEvent)),
    },
    {
      name: "kit/route with marks, the same commands on Bun's own RedisClient (measured, not used)",
      batch: () => nativeRoute(Array.from({ length: BATCH }, markedEvent)),
    },
    {
      // what the router tried on 2026-12-02 (not kept) sends once it knows the routes: the marks,
      // the routes' read and the PUBLISHes to the replicas the routes named last time, in one
      // transaction (published only if the marks were recorded); its bookkeeping left out
      name: "kit/route with marks in one round trip: the PUBLISHes to the routes read last time, in a MULTI with the marks and the MGET (tried, not kept)",
      batch: () => {
        const p = commands.pipeline();
        p.call("MULTI");
        p.zadd(MARKS_PUBLISHERS_KEY, Date.now(), marker.publisher);
        for (let i = 0; i < BATCH; i++) {
          const e = markedEvent();
          p.hset(marksKey(marker.publisher), ...members.flatMap((m) => [m, e.mark!]));
          p.mget(...members.map(presenceKeys.route));
          p.publish(replicaChannel("replica-a"), `${members.slice(0, 5).join(",")}\n${e.payload}`);
          p.publish(replicaChannel("replica-b"), `${members.slice(5).join(",")}\n${e.payload}`);
        }
        p.call("EXEC");
        return p.exec();
      },
    },
    {
      name: `kit/route with marks in one Lua script per round of ${ROUND} events (tried, not kept)`,
      batch: () => {
        const p = commands.pipeline() as unknown as {
          routeRound(n: number, ...args: (string | number)[]): void;
          exec(): Promise<unknown>;
        };
        for (let r = 0; r < BATCH / ROUND; r++) {
          const events = Array.from({ length: ROUND }, markedEvent);
          // each member's newest mark (every event goes to the same 10 here)
          const fields = members.flatMap((m) => [m, events[events.length - 1]!.mark!]);
          const args: (string | number)[] = [REPLICA_CHANNEL, marker.publisher, Date.now(), fields.length, ...fields];
          for (const e of events) args.push(members.length, e.payload, ...members.map((_, u) => u + 1));
          p.routeRound(
            2 + members.length,
            MARKS_PUBLISHERS_KEY,
            marksKey(marker.publisher),
            ...members.map(presenceKeys.route),
            ...args,
          );
        }
        return p.exec();
      },
    },
    {
      name: "one Lua script reading the presence sets (tried, not kept)",
      batch: () => {
        const p = commands.pipeline() as unknown as {
          routeInOneStep(n: number, ...args: string[]): void;
          exec(): Promise<unknown>;
        };
        for (let i = 0; i < BATCH; i++)
          p.routeInOneStep(presence.length, ...presence, REPLICA_CHANNEL, payload, ...members);
        return p.exec();
      },
    },
  ];
  const rows: string[] = [];
  const load = loadavg()[0]!.toFixed(2);
  for (let round = 1; round <= 2; round++) {
    for (const way of ways) {
      const before = cpuMs(redisChild.proc.pid!);
      const ownBefore = process.cpuUsage();
      const t0 = performance.now();
      for (let n = 0; n < EVENTS / BATCH; n++) await way.batch();
      const wall = performance.now() - t0;
      const own = process.cpuUsage(ownBefore);
      const perEvent = ((cpuMs(redisChild.proc.pid!) - before) * 1000) / EVENTS;
      const publisherPerEvent = (own.user + own.system) / EVENTS;
      rows.push(
        `| ${round} | ${way.name} | ${perEvent.toFixed(1)} | ${publisherPerEvent.toFixed(1)} | ${((EVENTS / wall) * 1000).toFixed(0)} |`,
      );
      console.error(
        `[bench] round ${round}: ${way.name}: ${perEvent.toFixed(1)} µs of Redis CPU, ${publisherPerEvent.toFixed(1)} µs of the publisher's, per event`,
      );
    }
  }
  native.close();
  const md = `# What routing one event costs Redis and the publisher

- date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), shared; load average (1 min) at the start ${load}, at the end ${loadavg()[0]!.toFixed(2)}
- command: \`node_modules/.bin/bun bench/route-cost.ts --events ${EVENTS} --batch ${BATCH}\`
- ${EVENTS} events per way and round, ${BATCH} per pipeline, one message frame (${payload.length} bytes) to a room of 10 whose members sit 5 and 5 on two replicas;
  each channel published to has a subscriber (two processes that read and discard, bench/lib/subscriber-sink.ts, counted in neither column). Redis CPU = utime+stime of redis-server over the run ÷ events (the clock ticks are 10 ms: read the figures to ±1 µs);
  publisher CPU = the bench process's own user+system time over the run ÷ events (everything it does per event: encoding, commands, replies).

| round | way | Redis CPU per event (µs) | publisher CPU per event (µs) | events/s (one client, pipelined; the kit/route ways encode each event, the others send one text) |
|---:|---|---:|---:|---:|
${rows.join("\n")}
`;
  writeFileSync(values.out!, md);
  console.error(`[bench] results written to ${values.out}`);
} finally {
  commands.disconnect();
  for (const l of listeners) l.kill();
  await stopAll([redisChild]);
  rmSync(dir, { recursive: true, force: true });
}
