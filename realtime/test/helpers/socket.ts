/**
 * Tiny socket helpers so tests read like the scenario: open a socket, await the next frame that
 * matches, collect frames until a condition, await the close.
 */
import type { ServerFrame } from "@parley/contract/frames";

export type OpenOptions = { token?: string; via?: "query" | "subprotocol" | "cookie"; origin?: string };
export type Closed = { code: number; reason: string };

export class TestSocket {
  readonly frames: ServerFrame[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.frames.push(JSON.parse(String(e.data)) as ServerFrame);
      this.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("socket failed to open")), { once: true });
    });
    this.closed = new Promise((resolve) =>
      ws.addEventListener(
        "close",
        (e) => {
          resolve({ code: e.code, reason: e.reason });
          this.wake();
        },
        { once: true },
      ),
    );
    this.opened.catch(() => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next frame (after the ones already taken) matching `match`; earlier non-matching frames are skipped. */
  async next<T extends ServerFrame = ServerFrame>(
    match: (f: ServerFrame) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++]!;
        if (match(f)) return f as T;
      }
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error("socket closed while waiting for a frame");
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await this.changed(left);
    }
  }

  /** Waits until `done(all frames so far)` holds, then returns all frames. */
  async collectUntil(done: (frames: ServerFrame[]) => boolean, timeoutMs = 10_000): Promise<ServerFrame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`condition not met within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames.slice(-5))}`);
      await this.changed(left);
    }
    return this.frames;
  }

  of<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type) as Extract<ServerFrame, { type: T }>[];
  }

  /** Text and bytes go as they are; anything else as JSON. */
  send(value: unknown) {
    if (typeof value === "string" || value instanceof Uint8Array) this.ws.send(value);
    else this.ws.send(JSON.stringify(value));
  }

  close() {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
  }
}

export const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, "ws")}/ws`;

/** Opens an authenticated socket and waits for `ready`. */
export async function openSocket(baseUrl: string, opts: OpenOptions = {}): Promise<TestSocket> {
  const s = connect(baseUrl, opts);
  await s.opened;
  await s.next((f) => f.type === "ready");
  return s;
}

export function connect(baseUrl: string, opts: OpenOptions = {}): TestSocket {
  const via = opts.via ?? "query";
  let url = wsUrl(baseUrl);
  const headers: Record<string, string> = {};
  let protocols: string[] | undefined;
  if (opts.token && via === "query") url += `?token=${encodeURIComponent(opts.token)}`;
  if (opts.token && via === "cookie") headers.cookie = `session=${opts.token}`;
  if (opts.token && via === "subprotocol") protocols = ["bearer", opts.token];
  if (opts.origin) headers.origin = opts.origin;
  // Bun's WebSocket accepts headers (Origin, Cookie) like a browser would send them
  const ws = new WebSocket(url, { headers, protocols } as unknown as string[]);
  return new TestSocket(ws);
}

/** A raw upgrade request, to see the HTTP answer of a refused upgrade. */
export function upgradeRequest(baseUrl: string, opts: { query?: string; headers?: Record<string, string> } = {}) {
  return fetch(`${baseUrl}/ws${opts.query ?? ""}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...opts.headers,
    },
  });
}

/**
 * Sockets a test file opens as signed-in users, remembered so that its afterAll closes them
 * all (`for (const s of sockets) s.close()`).
 */
export function socketPool() {
  const sockets: TestSocket[] = [];
  const open = async (url: string, user: { token: string }) => {
    const s = await openSocket(url, { token: user.token });
    sockets.push(s);
    return s;
  };
  return { sockets, open };
}
