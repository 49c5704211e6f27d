/**
 * A publisher worker of bench/fanout-knee.ts (a Bun process of its own, spawned with IPC):
 * open-loop, message k of a run at its scheduled time whatever the servers do, all messages due
 * in one timer tick in one pipeline. With S publishers, this one publishes k ≡ shard (mod S).
 * How each server is published to:
 *   - Parley: exactly what the api does after a commit: `encodeFanoutEvent(frame, committedAt)`, the
 *     frame marked (kit/marks), routed to the members (kit/route: on one Redis server each member's
 *     newest mark recorded (one HSET) and the members' routes read (one MGET), then one PUBLISH per
 *     replica holding a member, naming them), a tick's messages in one round trip of each;
 *   - baselines: one PUBLISH of the frame's text on the room's channel;
 *   - Socket.IO: @socket.io/redis-emitter to the conversation's room (as a separate api would),
 *     its PUBLISHes of one tick in one write (ioredis auto-pipelining).
 * Reports how late each measured message left against its schedule (the publisher's own lag).
 */
import Redis from "ioredis";
import { encodeFanoutEvent } from "@parley/contract/frames";
import { Marker } from "@parley/kit/marks";
import { EventRouter, type Routed } from "@parley/kit/route";
import { roomChannel } from "../peers/baseline-rooms.ts";
import { loadSocketIoDriver, messageFrame } from "../peers/servers.ts";
import {
  bucketOf,
  epochNow,
  newHistogram,
  ROOMS,
  SEQ_RUN,
  scheduledAt,
  type FromPublisher,
  type PublisherSetup,
  type RunPlan,
  type ToPublisher,
} from "./protocol.ts";

const send = (m: FromPublisher): void => {
  process.send?.(m);
};

type Sink = {
  /** queues message k (to be written with the tick's others) */
  add(k: number, plan: RunPlan): void;
  /** writes what was queued */
  flush(): Promise<unknown>;
  close(): Promise<unknown>;
};

function frameOf(setup: PublisherSetup, k: number, plan: RunPlan) {
  const room = setup.rooms[k % ROOMS]!;
  return messageFrame({
    seq: plan.runId * SEQ_RUN + k,
    body: scheduledAt(plan, k).toFixed(3),
    senderId: room.members[Math.floor(k / ROOMS) % room.members.length]!,
    conversationId: room.conversationId,
  });
}

async function sinkFor(setup: PublisherSetup): Promise<Sink> {
  if (setup.kind === "socketio") {
    const driver = await loadSocketIoDriver();
    const emitter = await driver.createPublisher(setup.redisUrl, { autoPipelining: true });
    return {
      add: (k, plan) => emitter.emitToConversation(setup.rooms[k % ROOMS]!.conversationId, frameOf(setup, k, plan)),
      flush: async () => {},
      close: () => emitter.close(),
    };
  }
  const redis = new Redis(setup.redisUrl);
  if (setup.kind === "parley") {
    // marked as the api marks its events (kit/marks: the mark on the frame, each member's newest recorded)
    const marker = new Marker();
    const router = new EventRouter(redis, marker);
    let events: Routed[] = [];
    return {
      add(k, plan) {
        const room = setup.rooms[k % ROOMS]!;
        const { n, mark } = marker.next();
        events.push({
          userIds: room.members,
          payload: encodeFanoutEvent({ ...frameOf(setup, k, plan), mark }, scheduledAt(plan, k)),
          mark: n,
        });
      },
      flush() {
        const tick = events;
        events = [];
        return tick.length > 0 ? router.publishOrThrow(tick) : Promise.resolve();
      },
      close: () => redis.quit(),
    };
  }
  let pipe = redis.pipeline();
  return {
    add(k, plan) {
      const room = setup.rooms[k % ROOMS]!;
      pipe.publish(roomChannel(room.conversationId), JSON.stringify(frameOf(setup, k, plan)));
    },
    flush() {
      const p = pipe;
      pipe = redis.pipeline();
      return p.length > 0 ? p.exec() : Promise.resolve();
    },
    close: () => redis.quit(),
  };
}

let sink: Sink | undefined;

async function publish(plan: RunPlan, shard: number, shards: number): Promise<void> {
  if (!sink) throw new Error("publish before setup");
  const lag = newHistogram();
  let lagMax = 0;
  let count = 0;
  const writes: Promise<unknown>[] = [];
  let k = shard;
  while (k < plan.total) {
    // a timer tick of at least 1 ms (a shorter Bun.sleep returns at once: the loop would spin)
    const wait = scheduledAt(plan, k) - epochNow();
    if (wait > 0) await Bun.sleep(Math.max(1, wait));
    const now = epochNow();
    while (k < plan.total && scheduledAt(plan, k) <= now) {
      sink.add(k, plan);
      if (k >= plan.warmup) {
        const late = now - scheduledAt(plan, k);
        lag[bucketOf(late)]!++;
        if (late > lagMax) lagMax = late;
      }
      count++;
      k += shards;
    }
    writes.push(sink.flush());
  }
  await Promise.all(writes);
  send({ op: "published", count, lagHistogram: lag, lagMaxMs: lagMax });
}

async function handle(m: ToPublisher): Promise<void> {
  switch (m.op) {
    case "setup":
      sink = await sinkFor(m);
      return send({ op: "ready" });
    case "publish":
      return publish(m.plan, m.shard, m.shards);
    case "clock":
      return send({ op: "clock", t: epochNow() });
    case "close":
      await sink?.close();
      process.exit(0);
  }
}

process.on("message", (m: ToPublisher) => {
  handle(m).catch((err: Error) => send({ op: "error", message: err.message }));
});
