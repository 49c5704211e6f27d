/**
 * Random and malformed WebSocket frames, from a seeded generator (a failure names its seed and
 * repeats), and the run that throws them at a realtime replica: attacker sockets send them while
 * bystanders watch; afterwards the replica must still answer and no bystander may have heard
 * anything the attacker caused. Used by realtime/test/fuzz.test.ts (short) and scripts/fuzz.ts
 * (long, `npm run fuzz`).
 */
import type { ServerFrame } from "@parley/contract/frames";
import { WS_FRAME_MAX_BYTES, WS_INBOUND } from "@parley/contract/limits";
import { connect, openSocket, type TestSocket } from "./socket.ts";

/** mulberry32: small, fast, good enough to vary inputs, and repeatable from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: () => number, n: number) => Math.floor(r() * n);

const STRINGS = [
  "",
  "typing",
  "TYPING",
  "message",
  "ready",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "\u0000",
  "\uFEFF",
  "\u202E",
  "\uD800",
  "😀",
  "null",
  "true",
  "1e309",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  '{"$gt":""}',
];

function randomString(r: () => number): string {
  if (r() < 0.5) return pick(r, STRINGS);
  const n = int(r, 40);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r() < 0.8 ? 32 + int(r, 95) : int(r, 0xffff));
  return s;
}

function randomValue(r: () => number, depth: number): unknown {
  const kind = int(r, depth > 4 ? 5 : 8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1.5, 2 ** 53, -(2 ** 63), Number.MAX_VALUE, 1e-300]);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return Array.from({ length: int(r, 5) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 5); i > 0; i--) o[randomString(r)] = randomValue(r, depth + 1);
      return o;
    }
  }
}

/**
 * One frame to send: text (JSON-ish or not) or binary. `conversations` are ids the attacker may
 * name (its own, others', made up), so some frames are well-formed typing frames for
 * conversations it is not in.
 */
export function randomFrame(r: () => number, conversations: string[]): string | Uint8Array {
  switch (int(r, 12)) {
    case 0:
      return crypto.getRandomValues(new Uint8Array(1 + int(r, 200)));
    case 1:
      return randomString(r);
    case 2:
      return `${"[".repeat(1 + int(r, 1500))}`;
    case 3:
      return `${'{"a":'.repeat(1 + int(r, 700))}1${"}".repeat(int(r, 700))}`;
    case 4:
      return JSON.stringify({ type: "typing", conversationId: pick(r, conversations) });
    case 5:
      return JSON.stringify({ type: "typing", conversationId: randomValue(r, 3) });
    case 6:
      return JSON.stringify({ type: randomValue(r, 3), conversationId: pick(r, conversations) });
    case 7:
      return JSON.stringify({ __proto__: { admin: true }, type: "typing", conversationId: pick(r, conversations) });
    case 8:
      return JSON.stringify(randomValue(r, 0));
    case 9:
      return JSON.stringify({ type: "typing", conversationId: pick(r, conversations), extra: randomValue(r, 1) });
    case 10:
      // just under and (now and then: it ends the socket) just over the frame limit
      return JSON.stringify({
        type: "typing",
        conversationId: "a".repeat(WS_FRAME_MAX_BYTES - 80 + int(r, r() < 0.2 ? 120 : 40)),
      });
    default:
      return `${JSON.stringify({ type: "typing", conversationId: pick(r, conversations) }).slice(0, int(r, 40))}`;
  }
}

export type FuzzTarget = {
  /** web URL of the replica under attack */
  url: string;
  /** tokens of attacker users (a few, so one user's socket cap is no limit on the run) */
  attackers: string[];
  /** conversation ids to name in frames: the attackers' own, strangers', made-up ones */
  conversations: string[];
  /** bystander sockets, already open, that must hear nothing of it */
  bystanders: TestSocket[];
};

export type FuzzResult = { frames: number; sockets: number; closes: Record<number, number>; errorsHeard: number };

/**
 * Sends `frames` random frames from the attackers, a burst below the inbound limit per socket
 * (so the frames reach the parser rather than the limiter), reconnecting as sockets close.
 */
export async function fuzzFrames(target: FuzzTarget, frames: number, seed: number): Promise<FuzzResult> {
  const r = prng(seed);
  const result: FuzzResult = { frames: 0, sockets: 0, closes: {}, errorsHeard: 0 };
  const perSocket = WS_INBOUND.burst - 2;
  while (result.frames < frames) {
    const token = pick(r, target.attackers);
    let s: TestSocket;
    try {
      s = await openSocket(target.url, { token });
    } catch {
      // a socket refused (e.g. the user's socket cap while an old one is closing): next one
      continue;
    }
    result.sockets++;
    for (let i = 0; i < perSocket && result.frames < frames; i++) {
      if (s.ws.readyState !== WebSocket.OPEN) break;
      s.send(randomFrame(r, target.conversations));
      result.frames++;
    }
    s.close();
    const { code } = await s.closed;
    result.closes[code] = (result.closes[code] ?? 0) + 1;
    result.errorsHeard += s.of("error").length;
  }
  return result;
}

/** A frame a bystander may hear during the run, on its own account: presence of its contacts. */
export const ownBusiness = (f: ServerFrame) => f.type === "ready" || f.type === "presence";

export { connect };
