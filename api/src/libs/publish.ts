/**
 * Fan-out: every committed change is published to Redis AFTER the database write, once per
 * recipient on their user channel, as a FanoutEvent. One pipeline per event. Redis pub/sub is
 * at-most-once and MongoDB is the truth, so a Redis outage never fails the write: it is
 * logged and counted, and clients repair through `GET …/messages?after=`.
 */
import { encodeFanoutEvent, userChannel, type ServerFrame } from "@parley/contract/frames";
import type { Logger } from "@parley/kit/log";
import type { Redis } from "./redis.ts";
import type { ApiMetrics } from "./metrics.ts";

/**
 * Other commands for the same round trip (the send path raises its rate counter here). They
 * run before the publishes; `onResults` gets their answers, or is not called if Redis failed.
 */
export type AlsoInPipeline = { commands: [string, ...(string | number)[]][]; onResults(values: unknown[]): void };

export type Publisher = {
  /** the same frame to every recipient (encoded once) */
  toUsers(userIds: string[], frame: ServerFrame, committedAt?: number, also?: AlsoInPipeline): Promise<void>;
  /** a different frame per recipient (e.g. each member's own view of a conversation) */
  each(frames: { userId: string; frame: ServerFrame }[], committedAt?: number): Promise<void>;
};

export function createPublisher(redis: Redis, log: Logger, metrics: ApiMetrics): Publisher {
  const send = async (
    type: ServerFrame["type"],
    events: { userId: string; payload: string }[],
    also?: AlsoInPipeline,
  ) => {
    if (events.length === 0 && !also) return;
    try {
      if (redis.status !== "ready") throw new Error(`redis is ${redis.status}`);
      const pipe = redis.pipeline();
      for (const [command, ...args] of also?.commands ?? []) pipe.call(command, ...args);
      for (const { userId, payload } of events) pipe.publish(userChannel(userId), payload);
      const results = (await pipe.exec()) ?? [];
      const extra = also?.commands.length ?? 0;
      if (also) also.onResults(results.slice(0, extra).map(([, value]) => value));
      const failed = results.slice(extra).filter(([err]) => err).length;
      if (failed > 0) throw new Error(`${failed} of ${events.length} publishes failed`);
    } catch (err) {
      metrics.publishFailures.inc({ type });
      log.warn(
        { type, recipients: events.length, err: (err as Error).message },
        "fan-out publish failed; clients will repair via REST",
      );
    }
  };
  return {
    toUsers: (userIds, frame, committedAt = Date.now(), also) => {
      const payload = encodeFanoutEvent(frame, committedAt);
      return send(
        frame.type,
        userIds.map((userId) => ({ userId, payload })),
        also,
      );
    },
    each: (frames, committedAt = Date.now()) =>
      send(
        frames[0]?.frame.type ?? "message",
        frames.map(({ userId, frame }) => ({ userId, payload: encodeFanoutEvent(frame, committedAt) })),
      ),
  };
}
