/**
 * BASELINE, NOT PRODUCT. What the Elysia guide's `.ws()` gives on Bun with ioredis and nothing
 * else: one Redis channel per room (baseline-rooms.ts), Bun's native topics for delivery, the
 * query validated by Elysia's schema, no authentication (the user id and room come in the query
 * string), no presence, no limits. For bench/fanout-knee.ts, between bare Bun.serve and Parley.
 *
 *   PORT=… REDIS_URL=redis://127.0.0.1:6379 bun bench/peers/elysia-ws.ts
 *   ws://127.0.0.1:PORT/ws?user=<24 hex>&room=<24 hex>   → {"type":"ready"} once subscribed, then the room's messages
 */
import { Elysia, t } from "elysia";
import { BENCH_ID, RoomChannels, readyFrame } from "./baseline-rooms.ts";

const rooms = new RoomChannels(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", (room, text) =>
  app.server?.publish(room, text),
);

const id = t.String({ pattern: BENCH_ID.source });

const app = new Elysia()
  .get("/readyz", () => ({ ready: true, sockets: rooms.localSockets }))
  .ws("/ws", {
    query: t.Object({ user: id, room: id }),
    async open(ws) {
      const { user, room } = ws.data.query;
      ws.subscribe(room);
      await rooms.join(room);
      ws.send(readyFrame(user));
    },
    close(ws) {
      rooms.leave(ws.data.query.room);
    },
  })
  .listen({ port: Number(process.env.PORT ?? 8092), hostname: "127.0.0.1" });

const stop = () => {
  void app.stop(true);
  rooms.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
