/**
 * A client that stops reading: once its socket's buffer grows, typing/presence frames are
 * dropped first; past the hard limit the socket is closed with 4002, so memory stays bounded.
 * A real realtime process on real Redis; the events are published as the api would.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { connect as tcpConnect, type Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FanoutEvent } from "@parley/contract/frames";
import { EventRouter, type Routed } from "@parley/kit/route";
import { CLOSE_CODES } from "@parley/contract/limits";
import Redis from "ioredis";
import { freePort, waitFor } from "../../scripts/lib/ports.ts";
import { testRedisUrl } from "./helpers/env.ts";
import { signToken, spawnRealtime } from "./helpers/stack.ts";

// real processes on a shared 2-core machine: generous bounds (the harness passes 60 s too)
setDefaultTimeout(60_000);

let realtime: Awaited<ReturnType<typeof spawnRealtime>>;
let port: number;
let publisher: Redis;

beforeAll(async () => {
  // API_URL points nowhere: delivery on the user's own channel needs no membership
  realtime = await spawnRealtime(
    { API_URL: `http://127.0.0.1:${await freePort()}`, REPLICA_ID: "slow-client" },
    join(mkdtempSync(join(tmpdir(), "parley-rt-slow-")), "realtime.log"),
  );
  port = Number(new URL(realtime.url).port);
  publisher = new Redis(testRedisUrl);
});
afterAll(async () => {
  await publisher?.quit();
  await realtime?.stop();
});

/** A raw WebSocket client that completes the handshake and then stops reading. */
async function stalledClient(token: string): Promise<{ sock: Socket; rest: () => Promise<Buffer> }> {
  const sock = tcpConnect(port, "127.0.0.1");
  await new Promise<void>((resolve) => sock.once("connect", () => resolve()));
  sock.write(
    `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const head = await new Promise<Buffer>((resolve) => sock.once("data", (d: Buffer) => resolve(d)));
  expect(head.toString("latin1")).toStartWith("HTTP/1.1 101");
  sock.pause();
  return {
    sock,
    rest: () =>
      new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        sock.on("data", (d: Buffer) => chunks.push(d));
        sock.once("close", () => resolve(Buffer.concat(chunks)));
        sock.resume();
      }),
  };
}

/** Close code of the last close frame (opcode 8) in a stream of unmasked server frames, if any. */
function lastCloseCode(data: Buffer): number | undefined {
  let i = 0;
  let code: number | undefined;
  while (i + 2 <= data.length) {
    const opcode = data[i]! & 0x0f;
    let len = data[i + 1]! & 0x7f;
    let off = i + 2;
    if (len === 126) {
      len = data.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(data.readBigUInt64BE(off));
      off += 8;
    }
    if (off + len > data.length) break;
    if (opcode === 8 && len >= 2) code = data.readUInt16BE(off);
    i = off + len;
  }
  return code;
}

const metric = async (name: string, labels = "") => {
  const text = await (await fetch(`${realtime.opsUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+]+)$`, "gm"))]
    .filter((m) =>
      labels
        .split(",")
        .filter(Boolean)
        .every((l) => m[1]!.includes(l)),
    )
    .reduce((sum, m) => sum + Number(m[2]), 0);
};

describe("slow clients", () => {
  test("lose typing frames first, then are closed with 4002 instead of growing memory", async () => {
    const userId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    const client = await stalledClient(signToken({ sub: userId }));
    await waitFor("user subscribed", async () => (await metric("realtime_connected_users")) === 1);

    const body = "x".repeat(60_000);
    const typing = JSON.stringify({
      frame: { type: "typing", conversationId: "c".repeat(24), userId: "d".repeat(24) },
      committedAt: Date.now(),
    } satisfies FanoutEvent);
    // up to ~120 MB (more than the kernel buffers of a loopback socket) in batches of ~300 KB
    // with a typing frame after each, until the socket is closed
    const router = new EventRouter(publisher);
    for (let batch = 0; batch < 400; batch++) {
      const events: Routed[] = [];
      for (let i = 0; i < 5; i++) {
        const seq = batch * 5 + i + 1;
        const message = {
          id: seq.toString(16).padStart(24, "0"),
          conversationId: "c".repeat(24),
          seq,
          senderId: "d".repeat(24),
          body,
          clientId: `s${seq}`,
          createdAt: new Date().toISOString(),
          kind: "text" as const,
          system: null,
          replyTo: null,
          mentions: [],
          editedAt: null,
          deleted: false,
          reactions: [],
          version: 0,
        };
        events.push({
          userIds: [userId],
          payload: JSON.stringify({
            frame: { type: "message", message },
            committedAt: Date.now(),
          } satisfies FanoutEvent),
        });
      }
      events.push({ userIds: [userId], payload: typing });
      await router.publishOrThrow(events);
      if ((await metric("realtime_slow_client_closes_total")) >= 1) break;
    }
    await waitFor("slow-client close", async () => (await metric("realtime_slow_client_closes_total")) >= 1, 20_000);
    expect(await metric("realtime_dropped_frames_total", 'type="typing",reason="backpressure"')).toBeGreaterThanOrEqual(
      1,
    );
    await waitFor("socket gone", async () => (await metric("realtime_open_sockets")) === 0);

    const rest = await client.rest();
    const code = lastCloseCode(rest);
    console.log(`slow client: ${rest.length} bytes were still buffered for it; close code in stream: ${code}`);
    expect(code).toBe(CLOSE_CODES.tooSlow);
  }, 60_000);
});
