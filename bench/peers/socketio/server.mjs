// The Socket.IO peer of Parley realtime, for benchmarks only (not part of the product).
// What a team would write instead: Socket.IO 4 on Node with @socket.io/redis-adapter, one room
// per user ("user:<id>") and one per conversation ("conversation:<id>"), any number of processes sharing one Redis. A separate api publishes
// through @socket.io/redis-emitter (see driver.mjs), the documented way to emit from outside.
//
// Authentication is deliberately minimal: the handshake's `auth.userId` (24 hex digits) is
// trusted as is. Parley verifies an HS256 JWT there; the comparison leaves that out on the peer's
// side, so it favours the peer slightly at connect time and not at all during delivery.
//
//   PORT=… REDIS_URL=redis://127.0.0.1:6379 node server.mjs
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";

const port = Number(process.env.PORT ?? 8090);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const USER_ID = /^[0-9a-f]{24}$/;

const pub = new Redis(redisUrl, { lazyConnect: true });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

let ready = false;
const http = createServer((req, res) => {
  // /readyz: 200 once the adapter's Redis connections are up (the bench waits for it).
  if (req.url === "/readyz" || req.url === "/healthz") {
    res.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
    res.end(JSON.stringify({ ready, sockets: io.engine.clientsCount }));
    return;
  }
  res.writeHead(404).end();
});

const io = new Server(http, {
  adapter: createAdapter(pub, sub),
  // WebSocket only, like Parley (no long-polling fallback and upgrade dance).
  transports: ["websocket"],
  serveClient: false,
});

io.use((socket, next) => {
  const userId = socket.handshake.auth?.userId;
  if (typeof userId !== "string" || !USER_ID.test(userId)) return next(new Error("unauthorized"));
  socket.data.userId = userId;
  next();
});

io.on("connection", (socket) => {
  socket.join(`user:${socket.data.userId}`);
  // and a room per conversation the client says it is in (bench/fanout-knee.ts): what a
  // Socket.IO chat does to emit a message once to every member's socket
  const conversations = socket.handshake.auth?.conversationIds;
  if (Array.isArray(conversations))
    for (const id of conversations) if (typeof id === "string" && USER_ID.test(id)) socket.join(`conversation:${id}`);
  // Same promise as Parley's `ready` frame: from here on, events for this user reach the socket.
  socket.emit("ready", { type: "ready", userId: socket.data.userId });
});

http.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
  ready = true;
  console.log(JSON.stringify({ msg: "socket.io peer listening", port, pid: process.pid }));
});

const stop = () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
