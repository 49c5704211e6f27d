/**
 * A minimal WebSocket client on a raw TCP socket (Bun.connect), for the load generator of
 * bench/fanout-knee.ts only: at 100,000+ deliveries/s on two cores, Bun's WebSocket client (a
 * MessageEvent and a callback per frame) costs the client workers about as much CPU as the
 * servers spend, and that CPU is taken from the servers. This one is handed whole TCP reads and
 * cuts them into frames itself: text frames as latin1 strings (the bench's frames are ASCII),
 * pings answered, fragments joined, close noted. Not a general client: no extensions, no
 * subprotocols, no TLS, no validation beyond what the bench needs.
 */
type Handlers = { onText(text: string): void; onClose(): void };

const HEADER_END = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);

/** Client frames are masked (RFC 6455 5.3); a zero mask leaves the payload as it is. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error("control frame too long");
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

export type RawSocket = { close(): void };

/** Opens `url` (ws://host:port/path?query); resolves once the server accepted the upgrade. */
export function openRawWebSocket(url: string, handlers: Handlers): Promise<RawSocket> {
  const u = new URL(url);
  const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  let upgraded = false;
  let pending: Buffer = EMPTY;
  let fragments: Buffer[] = [];
  let fragmentOpcode = 0;
  let closed = false;

  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      if (!upgraded) reject(err);
    };
    Bun.connect({
      hostname: u.hostname,
      port: Number(u.port),
      socket: {
        open(s) {
          s.write(
            `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
              `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          );
        },
        data(s, chunk) {
          // what a read left unfinished is copied out (Bun may reuse the chunk's memory)
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          if (!upgraded) {
            const end = pending.indexOf(HEADER_END);
            if (end < 0) {
              pending = Buffer.from(pending);
              return;
            }
            const status = pending.subarray(0, pending.indexOf("\r\n")).toString("latin1");
            if (!status.startsWith("HTTP/1.1 101")) {
              s.end();
              fail(new Error(`upgrade refused: ${status}`));
              return;
            }
            upgraded = true;
            pending = pending.subarray(end + 4);
            resolve({
              close() {
                closed = true;
                s.end(clientFrame(0x8, Buffer.from([0x03, 0xe8])));
              },
            });
          }
          let at = 0;
          while (pending.length - at >= 2) {
            const b0 = pending[at]!;
            const b1 = pending[at + 1]!;
            let len = b1 & 0x7f;
            let head = 2;
            if (len === 126) {
              if (pending.length - at < 4) break;
              len = pending.readUInt16BE(at + 2);
              head = 4;
            } else if (len === 127) {
              if (pending.length - at < 10) break;
              len = Number(pending.readBigUInt64BE(at + 2));
              head = 10;
            }
            if (b1 & 0x80) head += 4; // a server never masks; skip a mask if one came anyway
            if (pending.length - at < head + len) break;
            const payload = pending.subarray(at + head, at + head + len);
            at += head + len;
            const opcode = b0 & 0x0f;
            const fin = (b0 & 0x80) !== 0;
            if (opcode === 0x9) s.write(clientFrame(0xa, Buffer.from(payload)));
            else if (opcode === 0x8) {
              if (!closed) handlers.onClose();
              closed = true;
              s.end();
            } else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
              if (!fin || opcode === 0x0) {
                if (opcode !== 0x0) fragmentOpcode = opcode;
                fragments.push(Buffer.from(payload));
                if (!fin) continue;
                const whole = Buffer.concat(fragments);
                fragments = [];
                if (fragmentOpcode === 0x1) handlers.onText(whole.toString("latin1"));
              } else if (opcode === 0x1) handlers.onText(payload.toString("latin1"));
            }
          }
          pending = at === pending.length ? EMPTY : Buffer.from(pending.subarray(at));
        },
        close() {
          if (upgraded && !closed) handlers.onClose();
          closed = true;
          fail(new Error("connection closed before the upgrade"));
        },
        error(_s, err) {
          fail(err);
        },
      },
    }).catch(fail);
  });
}
