/**
 * The real api and two realtime replicas on a Redis Cluster of three masters (sharded pub/sub:
 * SPUBLISH/SSUBSCRIBE): users on different replicas get each other's messages, typing, reads
 * and presence; each user's channel is followed only on the master serving its slot; and when
 * one master restarts, the users whose channels live on it are resynced (their sockets close
 * with 1012 "resync" once the channels are followed again; the client's `after` catch-up
 * brings what was committed meanwhile), while users on the other shards keep live delivery
 * throughout. A slot that moves to another master is followed there, its users resynced.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Message } from "@parley/contract";
import { type MessageFrame, presenceChannel, userChannel } from "@parley/contract/frames";
import { CLOSE_CODES } from "@parley/contract/limits";
import { REVOKED_CHANNEL } from "@parley/kit/revocation";
import { slotOf } from "@parley/kit/slots";
import { type RedisCluster, startRedisCluster } from "../../scripts/lib/redis-cluster.ts";
import { socketPool, type TestSocket } from "./helpers/socket.ts";
import { createConversation, register, sendMessage, startTestStack, type TestUser } from "./helpers/stack.ts";

// real processes (and three Redis masters) on a shared 2-core machine: generous bounds
setDefaultTimeout(90_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let cluster: RedisCluster;
let stack: TestStack;
let r1: string;
let r2: string;
const { sockets, open } = socketPool();
const isMessage = (body: string) => (f: { type: string }) =>
  f.type === "message" && (f as MessageFrame).message.body === body;
/** The shard channels a master has subscribers for (PUBSUB SHARDCHANNELS). */
const shardChannels = (port: number) => cluster.cli(port, "pubsub", "shardchannels", "parley:*").split("\n");
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`${what}: not within ${ms} ms`)))]);

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  stack = await startTestStack("cluster", { extraEnv: { REDIS_CLUSTER_NODES: cluster.nodes } });
  [r1, r2] = stack.realtimeUrls as [string, string];
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
  await cluster?.stop();
});

describe("Redis Cluster with sharded pub/sub", () => {
  let alice: TestUser;
  let bob: TestUser;
  let conversationId: string;
  let a: TestSocket;
  let b: TestSocket;

  test("slots are computed as Redis computes them", () => {
    for (const key of ["parley:user:abc", "{parley:presence:x}:replicas", "parley:presence:x", REVOKED_CHANNEL, "a{}b"])
      expect(slotOf(key)).toBe(Number(cluster.cli(cluster.ports[0]!, "cluster", "keyslot", key)));
    expect(slotOf("{parley:presence:x}:replicas")).toBe(slotOf(presenceChannel("x")));
  });

  test("users on different replicas and shards get each other's messages, typing, reads and presence", async () => {
    // two users whose channels are served by different masters
    alice = await register(r1, "calice");
    const aliceShard = cluster.portOf(userChannel(alice.id));
    let other: TestUser | undefined;
    for (let i = 0; i < 20 && !other; i++) {
      const u = await register(r1, "cbob");
      if (cluster.portOf(userChannel(u.id)) !== aliceShard) other = u;
    }
    if (!other) throw new Error("no user whose channel is on another shard in 20 tries");
    bob = other;
    conversationId = (await createConversation(r1, alice, [bob])).id;

    a = await open(r1, alice);
    b = await open(r2, bob);
    // no marks are kept on a cluster: `ready` says so, and clients always catch up
    for (const s of [a, b]) {
      const frames = await s.collectUntil((all) => all.some((f) => f.type === "ready"));
      expect(frames.find((f) => f.type === "ready")).toMatchObject({ type: "ready", marks: null });
    }
    // presence: alice (replica 1) hears bob (replica 2) arrive
    await a.next((f) => f.type === "presence" && f.userId === bob.id && f.online);

    await sendMessage(r1, alice, conversationId, "hello from alice");
    await sendMessage(r2, bob, conversationId, "hello from bob");
    for (const s of [a, b]) {
      await s.next(isMessage("hello from alice"));
      await s.next(isMessage("hello from bob"));
    }

    a.send({ type: "typing", conversationId });
    await b.next((f) => f.type === "typing" && f.userId === alice.id && f.conversationId === conversationId);
    b.send({ type: "typing", conversationId });
    await a.next((f) => f.type === "typing" && f.userId === bob.id);

    // bob reads alice's newest message (what he sent himself he has read already)
    const newest = await sendMessage(r1, alice, conversationId, "read me");
    await b.next(isMessage("read me"));
    const read = await fetch(`${r2}/api/conversations/${conversationId}/read`, {
      method: "POST",
      headers: { authorization: `Bearer ${bob.token}`, "content-type": "application/json" },
      body: JSON.stringify({ seq: newest.seq }),
    });
    expect(read.status).toBe(204);
    await a.next((f) => f.type === "read" && f.userId === bob.id && f.seq === newest.seq);

    // presence both ways: bob leaves and comes back
    b.close();
    await a.next((f) => f.type === "presence" && f.userId === bob.id && !f.online);
    b = await open(r2, bob);
    await a.next((f) => f.type === "presence" && f.userId === bob.id && f.online);
  });

  test("each user's channel is followed only on the master serving its slot, and the users spread over the shards", () => {
    const owners = new Map<string, number[]>();
    for (const port of cluster.ports)
      for (const channel of shardChannels(port)) owners.set(channel, [...(owners.get(channel) ?? []), port]);
    for (const u of [alice, bob]) expect(owners.get(userChannel(u.id))).toEqual([cluster.portOf(userChannel(u.id))]);
    const userShards = new Set([...owners].filter(([c]) => c.startsWith("parley:user:")).flatMap(([, ports]) => ports));
    expect(userShards.size).toBeGreaterThanOrEqual(2);
    // classic pub/sub is not used at all
    for (const port of cluster.ports) expect(cluster.cli(port, "pubsub", "channels", "parley:*")).toBe("");
  });

  test("a master restarts: users on the other shards keep live delivery; those on it are resynced and catch up", async () => {
    const aliceShard = cluster.portOf(userChannel(alice.id));
    const index = cluster.ports.indexOf(aliceShard);
    const before = (await sendMessage(r2, bob, conversationId, "before the restart")).seq;
    await a.next(isMessage("before the restart"));

    await cluster.stopNode(index);
    // committed while alice's shard is away: bob (another shard) gets it live
    const during = await sendMessage(r2, bob, conversationId, "while her shard is away");
    await b.next(isMessage("while her shard is away"));
    await cluster.startNode(index);

    // once her channel is followed again, her socket is closed so the client catches up
    expect(await within(a.closed, 30_000, "alice's socket closed for a resync")).toEqual({
      code: CLOSE_CODES.serviceRestart,
      reason: "resync",
    });
    expect(b.ws.readyState).toBe(WebSocket.OPEN);

    // the client's reconnect: a fresh `ready` (her channel followed on her shard), then `after`
    // brings what was committed meanwhile
    a = await open(r1, alice);
    expect(shardChannels(aliceShard)).toContain(userChannel(alice.id));
    const page = await fetch(`${r1}/api/conversations/${conversationId}/messages?after=${before}`, {
      headers: { authorization: `Bearer ${alice.token}` },
    });
    const { messages } = (await page.json()) as { messages: Message[] };
    expect(messages.map((m) => m.seq)).toContain(during.seq);

    // and live delivery to her is back
    await sendMessage(r2, bob, conversationId, "after the restart");
    await a.next(isMessage("after the restart"), 20_000);
    await b.next(isMessage("after the restart"));
  });

  test("a slot moves to another master: the replicas follow its channels there, and its users are resynced", async () => {
    const channel = userChannel(bob.id);
    const slot = String(slotOf(channel));
    const from = cluster.portOf(channel);
    const to = cluster.ports.find((p) => p !== from)!;
    const id = (port: number) => cluster.cli(port, "cluster", "myid");
    // the steps of a resharding, for this one slot (its keys go along)
    cluster.cli(to, "cluster", "setslot", slot, "importing", id(from));
    cluster.cli(from, "cluster", "setslot", slot, "migrating", id(to));
    for (const key of cluster.cli(from, "cluster", "getkeysinslot", slot, "100").split("\n").filter(Boolean))
      cluster.cli(from, "migrate", "127.0.0.1", String(to), key, "0", "5000");
    for (const port of [to, from, ...cluster.ports.filter((p) => p !== to && p !== from)])
      cluster.cli(port, "cluster", "setslot", slot, "node", id(to));
    expect(cluster.portOf(channel)).toBe(to);

    expect(await within(b.closed, 20_000, "bob's socket closed for a resync")).toEqual({
      code: CLOSE_CODES.serviceRestart,
      reason: "resync",
    });
    b = await open(r2, bob);
    expect(shardChannels(to)).toContain(channel);
    expect(shardChannels(from)).not.toContain(channel);
    await sendMessage(r1, alice, conversationId, "after the move");
    await b.next(isMessage("after the move"));
    await a.next(isMessage("after the move"));
  });
});
