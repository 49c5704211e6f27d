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

export type Publisher = {
  /** the same frame to every recipient */
  toUsers(userIds: string[], frame: ServerFrame, committedAt?: number): Promise<void>;
  /** a different frame per recipient (e.g. each member's own view of a conversation) */
  each(frames: { userId: string; frame: ServerFrame }[], committedAt?: number): Promise<void>;
};

export function createPublisher(redis: Redis, log: Logger, metrics: ApiMetrics): Publisher {
  const send = async (frames: { userId: string; frame: ServerFrame }[], committedAt: number) => {
    if (frames.length === 0) return;
    const type = frames[0]!.frame.type;
    try {
      if (redis.status !== "ready") throw new Error(`redis is ${redis.status}`);
      const pipe = redis.pipeline();
      for (const { userId, frame } of frames) pipe.publish(userChannel(userId), encodeFanoutEvent(frame, committedAt));
      const results = (await pipe.exec()) ?? [];
      const failed = results.filter(([err]) => err).length;
      if (failed > 0) throw new Error(`${failed} of ${frames.length} publishes failed`);
    } catch (err) {
      metrics.publishFailures.inc({ type });
      log.warn(
        { type, recipients: frames.length, err: (err as Error).message },
        "fan-out publish failed; clients will repair via REST",
      );
    }
  };
  return {
    toUsers: (userIds, frame, committedAt = Date.now()) =>
      send(
        userIds.map((userId) => ({ userId, frame })),
        committedAt,
      ),
    each: (frames, committedAt = Date.now()) => send(frames, committedAt),
  };
}
