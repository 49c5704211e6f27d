/**
 * BASELINE, NOT PRODUCT. The least a realtime fan-out server can be on Bun and Redis: Bun.serve's
 * native WebSockets and topics, ioredis, one Redis channel per room (baseline-rooms.ts). No
 * authentication (the user id and room come in the query string), no presence, no limits, no
 * metrics: the limit of this design on a given machine, for bench/fanout-knee.ts to compare
 * Parley realtime with.
 *
 *   PORT=… REDIS_URL=redis://127.0.0.1:6379 bun bench/peers/bare-bun.ts
 *   ws://127.0.0.1:PORT/ws?user=<24 hex>&room=<24 hex>   → {"type":"ready"} once subscribed, then the room's messages
 */
import { BENCH_ID, RoomChannels, readyFrame } from "./baseline-rooms.ts";

type SocketData = { user: string; room: string };

const rooms = new RoomChannels(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", (room, text) =>
  server.publish(room, text),
);

const server = Bun.serve({
  port: Number(process.env.PORT ?? 8091),
  hostname: "127.0.0.1",
  fetch(req, server) {
    const url = new URL(req.url);
    if (url.pathname === "/readyz") return Response.json({ ready: true, sockets: rooms.localSockets });
    if (url.pathname !== "/ws") return new Response("not found", { status: 404 });
    const user = url.searchParams.get("user") ?? "";
    const room = url.searchParams.get("room") ?? "";
    if (!BENCH_ID.test(user) || !BENCH_ID.test(room)) return new Response("user and room required", { status: 400 });
    if (server.upgrade(req, { data: { user, room } })) return undefined;
    return new Response("upgrade failed", { status: 400 });
  },
  websocket: {
    data: {} as SocketData,
    async open(ws) {
      ws.subscribe(ws.data.room);
      await rooms.join(ws.data.room);
      ws.send(readyFrame(ws.data.user));
    },
    message() {},
    close(ws) {
      rooms.leave(ws.data.room);
    },
  },
});

const stop = () => {
  server.stop(true);
  rooms.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
