/**
 * What the two BASELINE servers (bare-bun.ts, elysia-ws.ts; not product) share: one Redis
 * channel per room, subscribed while at least one local socket is in the room, and the text
 * published on it handed as-is to Bun's native topic of that room (`server.publish`), which
 * writes it to every local socket subscribed to the topic without running JavaScript per socket.
 *
 * One channel per room rather than one per process: Redis then routes, and a process receives
 * only the rooms it holds (the design that keeps working when rooms are spread over many
 * processes, as Parley's channel per user does). In bench/fanout-knee.ts every process holds
 * members of every room, so both choices would receive the same traffic there.
 */
// the same ioredis fix Parley's services load (kit/tracing-channel), so the baselines pay no tracing either
import "@parley/kit/tracing-channel";
import Redis from "ioredis";

export const ROOM_CHANNEL_PREFIX = "bench:room:";
export const roomChannel = (room: string) => `${ROOM_CHANNEL_PREFIX}${room}`;
/** rooms and users are ids of 24 hex digits, as Parley's are */
export const BENCH_ID = /^[0-9a-f]{24}$/;

/** Same promise as Parley's `ready` frame: from now on, the room's messages reach this socket. */
export const readyFrame = (userId: string) => JSON.stringify({ type: "ready", userId });

export class RoomChannels {
  private readonly sockets = new Map<string, number>();
  private readonly subscribed = new Map<string, Promise<unknown>>();
  private readonly sub: Redis;

  constructor(redisUrl: string, deliver: (room: string, text: string) => void) {
    this.sub = new Redis(redisUrl);
    this.sub.on("message", (channel: string, text: string) => deliver(channel.slice(ROOM_CHANNEL_PREFIX.length), text));
  }

  /** One more local socket in `room`; resolves once Redis confirmed the room's subscription. */
  async join(room: string): Promise<void> {
    this.sockets.set(room, (this.sockets.get(room) ?? 0) + 1);
    let confirmed = this.subscribed.get(room);
    if (!confirmed) {
      confirmed = this.sub.subscribe(roomChannel(room));
      this.subscribed.set(room, confirmed);
    }
    await confirmed;
  }

  leave(room: string): void {
    const left = (this.sockets.get(room) ?? 1) - 1;
    if (left > 0) {
      this.sockets.set(room, left);
      return;
    }
    this.sockets.delete(room);
    this.subscribed.delete(room);
    void this.sub.unsubscribe(roomChannel(room));
  }

  get localSockets(): number {
    let n = 0;
    for (const c of this.sockets.values()) n += c;
    return n;
  }

  close(): void {
    this.sub.disconnect();
  }
}
