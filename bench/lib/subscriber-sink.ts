/**
 * A Redis subscriber that reads what it is sent and throws it away: for benches that need every
 * channel they publish to followed (Redis does the same work for a subscriber whatever it does
 * with the messages) without a client parsing them on the machine's cores. Its own process, so
 * its CPU is neither Redis' nor the bench's.
 *
 *   bun bench/lib/subscriber-sink.ts <redis port> <channel> [<channel> …]
 */
export {}; // a module: top-level await below

const [port, ...channels] = process.argv.slice(2);
if (!port || channels.length === 0) {
  console.error("usage: subscriber-sink.ts <redis port> <channel>...");
  process.exit(2);
}
// one SUBSCRIBE in RESP (an array of bulk strings)
const words = ["SUBSCRIBE", ...channels];
const subscribe = `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join("")}`;
await Bun.connect({
  hostname: "127.0.0.1",
  port: Number(port),
  socket: {
    open: (socket) => void socket.write(subscribe),
    data: () => {},
    close: () => process.exit(0),
    error: () => process.exit(1),
  },
});
