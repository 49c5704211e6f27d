/**
 * A tiny TCP load balancer for the end-to-end tests, standing where the production ingress
 * would: every new connection goes to the next live backend, skipping ones that refuse. When
 * a replica dies its connections close, and the page reconnects through the same origin
 * (same cookie) to a surviving replica.
 */
import type { Socket } from "bun";

type Backend = { host: string; port: number };
type Pipe = {
  upstream?: Socket<Pipe>;
  peer?: Socket<Pipe>;
  queue: Uint8Array[];
  pending: Uint8Array[];
  backend: number;
  firstLine: string;
};

export type Balancer = {
  url: string;
  port: number;
  /** while held, new connections are refused (as an ingress that has no ready backend yet) */
  hold(on: boolean): void;
  /** the backend index each open connection whose request line starts with `prefix` is on */
  backendsOf(prefix: string): number[];
  stop(): void;
};

/** Writes with backpressure: what the socket could not take waits for `drain`. */
function send(sock: Socket<Pipe>, chunk: Uint8Array) {
  const q = sock.data.queue;
  if (q.length) return void q.push(chunk.slice());
  const n = sock.write(chunk);
  if (n < chunk.length) q.push(chunk.slice(Math.max(0, n)));
}
function flush(sock: Socket<Pipe>) {
  const q = sock.data.queue;
  while (q.length) {
    const c = q[0]!;
    const n = sock.write(c);
    if (n < c.length) {
      q[0] = c.slice(Math.max(0, n));
      return;
    }
    q.shift();
  }
}

export function startBalancer(backends: Backend[]): Balancer {
  let next = 0;
  let held = false;
  const open = new Set<Socket<Pipe>>();
  const server = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { queue: [], pending: [], backend: -1, firstLine: "" };
        open.add(client);
        if (held) return void client.end();
        for (let i = 0; i < backends.length; i++) {
          const index = (next + i) % backends.length;
          const b = backends[index]!;
          try {
            const upstream = await Bun.connect<Pipe>({
              hostname: b.host,
              port: b.port,
              data: { queue: [], pending: [], backend: index, firstLine: "", peer: client },
              socket: {
                data: (_up, chunk) => send(client, chunk),
                drain: (up) => flush(up),
                close: () => void client.end(),
                error: () => void client.end(),
              },
            });
            next = (index + 1) % backends.length;
            client.data.upstream = upstream;
            client.data.backend = index;
            for (const c of client.data.pending) send(upstream, c);
            client.data.pending = [];
            return;
          } catch {
            // refused: this backend is down, try the next one
          }
        }
        client.end();
      },
      data(client, chunk) {
        if (!client.data.firstLine)
          client.data.firstLine = new TextDecoder().decode(chunk.subarray(0, 64)).split("\r\n")[0] ?? "";
        if (client.data.upstream) send(client.data.upstream, chunk);
        else client.data.pending.push(chunk.slice());
      },
      drain: (client) => flush(client),
      close(client) {
        open.delete(client);
        client.data.upstream?.end();
      },
      error(client) {
        open.delete(client);
        client.data.upstream?.end();
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    hold: (on) => {
      held = on;
    },
    backendsOf: (prefix) => [...open].filter((c) => c.data.firstLine.startsWith(prefix)).map((c) => c.data.backend),
    stop: () => {
      for (const c of open) c.end();
      server.stop(true);
    },
  };
}
