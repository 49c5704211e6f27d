// Bench-side half of the Socket.IO peer, loaded by bench/peers/compare.ts into its own (Bun)
// process after `npm install --prefix bench/peers/socketio`: the socket.io-client sockets and
// the publisher (@socket.io/redis-emitter, as a separate api would publish).
import { io } from "socket.io-client";
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";

/**
 * Opens one socket for `userId` on `url`, in the rooms of `conversationIds`; resolves with a
 * close function once the server said `ready`. `onMessage(frame)` gets every "message" event.
 */
export function openSocket(url, userId, onMessage, timeoutMs = 10_000, conversationIds = []) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth: { userId, conversationIds },
      reconnection: false,
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`socket.io socket for ${userId} not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", onMessage);
    socket.once("ready", () => {
      clearTimeout(timer);
      resolve({ close: () => socket.close() });
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * A publisher on its own Redis connection: `emit(userId, frame)` → room `user:<id>`,
 * `emitToConversation(id, frame)` → room `conversation:<id>`. With `autoPipelining`, the
 * PUBLISHes issued in one tick go to Redis in one write.
 */
export async function createPublisher(redisUrl, { autoPipelining = false } = {}) {
  const redis = new Redis(redisUrl, { lazyConnect: true, enableAutoPipelining: autoPipelining });
  await redis.connect();
  const emitter = new Emitter(redis);
  return {
    emit: (userId, frame) => emitter.to(`user:${userId}`).emit("message", frame),
    emitToConversation: (id, frame) => emitter.to(`conversation:${id}`).emit("message", frame),
    close: () => redis.quit(),
  };
}
