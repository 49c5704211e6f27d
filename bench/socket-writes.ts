/**
 * What writing frames to sockets costs a Bun server, four ways, with the frames arriving in
 * turns of the event loop as a replica's Redis reads hand them over:
 *   - `send`: one `ws.send` per frame (realtime before fanout/outbox.ts);
 *   - `publish`: one `server.publish` per frame on the recipient's own topic (Bun's native topics;
 *     uWS queues a socket's messages and writes them once per loop iteration);
 *   - `room-publish`: one `server.publish` per message on its room's topic (the bare baseline
 *     server's way: one call per message, uWS writes to the room's sockets);
 *   - `outbox`: realtime's own path: `Session.deliver` per frame, each socket's frames of the
 *     turn written together at its end (`TurnOutbox`, one corked write per socket).
 * One Bun.serve (this process), N sockets held by a client process of their own, in rooms of K;
 * R messages/s, message k to room k mod N/K (as bench/fanout-knee.ts publishes); every turn
 * (`--turns`, ms apart on a fixed schedule) delivers the messages due by then. The
 * server's CPU (utime+stime of this process) is measured per way and turn length.
 *
 *   node_modules/.bin/bun bench/socket-writes.ts [--sockets 500] [--rate 12000] [--recipients 5]
 *     [--turns 1,10,50] [--seconds 5] [--out bench/results/socket-writes.md]
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ServerWebSocket } from "bun";
import { createLogger } from "@parley/kit/log";
import { ROOT } from "../scripts/lib/infra.ts";
import { TurnOutbox } from "../realtime/src/fanout/outbox.ts";
import { Session } from "../realtime/src/fanout/session.ts";
import { createRealtimeMetrics } from "../realtime/src/libs/metrics.ts";
import { messageFrame } from "./peers/servers.ts";

const { values } = parseArgs({
  options: {
    sockets: { type: "string", default: "500" },
    rate: { type: "string", default: "12000" },
    recipients: { type: "string", default: "5" },
    turns: { type: "string", default: "1,10,50" },
    seconds: { type: "string", default: "5" },
    out: { type: "string", default: join(ROOT, "bench/results/socket-writes.md") },
    // internal: run as the client process
    "clients-of": { type: "string" },
  },
});

const SOCKETS = Number(values.sockets);

if (values["clients-of"]) {
  // the client process: holds the sockets, reads every frame, says when all are open
  let open = 0;
  for (let i = 0; i < SOCKETS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${values["clients-of"]}/?i=${i}`);
    ws.onopen = () => {
      if (++open === SOCKETS) console.log("open");
    };
    ws.onmessage = () => undefined;
  }
  setInterval(() => undefined, 1 << 30);
} else {
  await serve();
}

type Way = "send" | "publish" | "outbox" | "room-publish";

async function serve(): Promise<void> {
  const RATE = Number(values.rate);
  const RECIPIENTS = Number(values.recipients);
  const SECONDS = Number(values.seconds);
  const turns = values.turns!.split(",").map(Number);
  /** the sockets in rooms of RECIPIENTS (the members of a room of 10 that sit on one replica) */
  const ROOMS = Math.floor(SOCKETS / RECIPIENTS);
  const metrics = createRealtimeMetrics();
  const outbox = new TurnOutbox(metrics, createLogger("socket-writes", "silent"));
  const sockets: ServerWebSocket<{ i: number }>[] = [];
  const sessions: Session[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req, srv) =>
      srv.upgrade(req, { data: { i: Number(new URL(req.url).searchParams.get("i")) } })
        ? undefined
        : new Response("upgrade expected", { status: 400 }),
    websocket: {
      data: {} as { i: number },
      perMessageDeflate: false,
      open(ws) {
        sockets[ws.data.i] = ws;
        ws.subscribe(`u${ws.data.i}`);
        ws.subscribe(`r${Math.floor(ws.data.i / RECIPIENTS)}`);
        const session = new Session("0".repeat(24), ws as ServerWebSocket<unknown>, outbox, undefined);
        session.ready({ type: "ready", userId: "0".repeat(24) });
        sessions[ws.data.i] = session;
      },
      message() {},
    },
  });
  const client = Bun.spawn(
    [process.execPath, import.meta.path, "--clients-of", String(server.port), "--sockets", String(SOCKETS)],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  );
  const reader = client.stdout.getReader();
  await reader.read(); // "open"
  await Bun.sleep(1000);

  const frame = messageFrame({
    seq: 1,
    body: "a message of ordinary length, about the size people send",
    senderId: "1".repeat(24),
  });
  const text = JSON.stringify(frame);
  const outgoing = { type: "message" as const, text, committedAt: Date.now() };
  const toEach = (write: (i: number) => void) => (room: number) => {
    for (let i = room * RECIPIENTS; i < (room + 1) * RECIPIENTS; i++) write(i);
  };
  /** one message to one room, each way */
  const deliver: Record<Way, (room: number) => void> = {
    send: toEach((i) => sockets[i]!.send(text)),
    publish: toEach((i) => server.publish(`u${i}`, text)),
    outbox: toEach((i) => sessions[i]!.deliver(outgoing)),
    "room-publish": (room) => server.publish(`r${room}`, text),
  };

  const rows: string[] = [];
  const startLoad = loadavg()[0]!.toFixed(2);
  for (const turnMs of turns) {
    for (const way of ["send", "publish", "outbox", "room-publish"] as Way[]) {
      await Bun.sleep(1000); // the client has read what the way before wrote
      const total = RATE * SECONDS;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      let k = 0;
      // turns start on a fixed schedule whatever each turn's work took (so every way's turns hold
      // the same messages; one that falls behind gets fewer, fuller turns, as a replica does)
      let next = t0;
      while (k < total) {
        next += turnMs;
        await Bun.sleep(Math.max(0, next - performance.now()));
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
        // message k to room k mod ROOMS, as the knee bench publishes
        for (; k < due; k++) deliver[way](k % ROOMS);
      }
      await Bun.sleep(50); // the last turn's writes
      const used = process.cpuUsage(c0);
      const wall = performance.now() - t0;
      const cpu = ((used.user + used.system) / 1000 / wall) * 100;
      const sys = (used.system / 1000 / wall) * 100;
      rows.push(`| ${turnMs} ms | ${way} | ${cpu.toFixed(1)} % | ${sys.toFixed(1)} % |`);
      console.error(
        `[bench] turns of ${turnMs} ms, ${way}: ${cpu.toFixed(1)} % of a core (system ${sys.toFixed(1)} %)`,
      );
    }
  }
  client.kill();
  server.stop(true);
  const md = `# What writing frames to sockets costs a Bun server

- date: ${new Date().toISOString()}; machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), shared; Bun ${Bun.version}; load average (1 min) at the start ${startLoad}, at the end ${loadavg()[0]!.toFixed(2)}
- command: \`node_modules/.bin/bun bench/socket-writes.ts --sockets ${SOCKETS} --rate ${RATE} --recipients ${RECIPIENTS} --turns ${turns.join(",")} --seconds ${SECONDS}\`
- one Bun.serve, ${SOCKETS} sockets held by a client process, in ${ROOMS} rooms of ${RECIPIENTS}; ${RATE} messages/s for ${SECONDS} s, message k to room k mod ${ROOMS} (${RATE * RECIPIENTS} frames/s of ${text.length} bytes),
  delivered in turns of the event loop that many ms apart on a fixed schedule (a socket gets about ${((RATE * RECIPIENTS) / SOCKETS / 1000).toFixed(2)} frames per ms, so about that many times the turn's length per turn).
  CPU = utime+stime of the server process over the run (the client process is not counted; it shares the machine's cores).
- ways: \`send\` one \`ws.send\` per frame; \`publish\` one \`server.publish\` per frame on the socket's own topic; \`room-publish\` one \`server.publish\` per message on the room's topic (the bare baseline's way); \`outbox\` realtime's
  \`Session.deliver\`, each socket's frames of the turn written together at its end (realtime/src/fanout/outbox.ts).

| turns | way | server CPU | of which system |
|---|---|---:|---:|
${rows.join("\n")}
`;
  writeFileSync(values.out!, md);
  console.error(`[bench] results written to ${values.out}`);
  process.exit(0);
}
