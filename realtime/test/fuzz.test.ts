/**
 * Issue 10, fuzzing on the realtime side: random and malformed frames (binary, broken JSON, deep
 * nesting, wrong types, prototype keys, typing for conversations the sender is not in, frames
 * just under and over the size limit) from several attacker sockets never crash realtime and
 * never reach another socket. FUZZ_WS_FRAMES and FUZZ_SEED size and repeat a run; `npm run fuzz`
 * runs a long one (scripts/fuzz.ts).
 */
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fuzzFrames, ownBusiness } from "./helpers/fuzz.ts";
import { openSocket, type TestSocket } from "./helpers/socket.ts";
import { createConversation, register, sendMessage, startTestStack } from "./helpers/stack.ts";

setDefaultTimeout(300_000);

const FRAMES = Number(process.env.FUZZ_WS_FRAMES ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

type TestStack = Awaited<ReturnType<typeof startTestStack>>;
let stack: TestStack;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  stack = await startTestStack("fuzz");
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.stop();
});

test(`${FRAMES} random frames never crash realtime nor reach another socket (seed ${SEED})`, async () => {
  const [r1, r2] = stack.realtimeUrls as [string, string];
  const attackers = [await register(r1, "fz"), await register(r1, "fz"), await register(r1, "fz")];
  const [ann, ben] = [await register(r1, "ann"), await register(r1, "ben")];
  const theirs = await createConversation(r1, ann, [ben]);
  const ours = await createConversation(r1, attackers[0]!, [attackers[1]!, attackers[2]!], "fuzzers");
  const bystanders = [await openSocket(r1, { token: ann.token }), await openSocket(r2, { token: ben.token })];
  sockets.push(...bystanders);

  const made = () => crypto.randomUUID().replace(/-/g, "").slice(0, 24);
  const result = await fuzzFrames(
    {
      url: r1,
      attackers: attackers.map((a) => a.token),
      conversations: [theirs.id, ours.id, made(), made(), "0".repeat(24)],
      bystanders,
    },
    FRAMES,
    SEED,
  );
  console.log(`ws fuzz: ${JSON.stringify(result)}`);
  expect(result.frames).toBe(FRAMES);

  // realtime is alive on both ports and still delivers
  for (const url of stack.realtimeOpsUrls) expect((await fetch(`${url}/readyz`)).status).toBe(200);
  expect((await fetch(`${r1}/healthz`)).status).toBe(200);
  const m = await sendMessage(r1, ann, theirs.id, "still here");
  for (const b of bystanders) await b.next((f) => f.type === "message" && f.message.id === m.id);
  // …and the bystanders heard nothing the attackers caused
  for (const b of bystanders) {
    const foreign = b.frames.filter((f) => !ownBusiness(f) && !(f.type === "message" && f.message.id === m.id));
    expect(foreign).toEqual([]);
  }
  for (const c of stack.children) expect({ name: c.name, exit: c.proc.exitCode }).toEqual({ name: c.name, exit: null });
  const logs = readdirSync(stack.logDir)
    .filter((f) => f.startsWith("realtime"))
    .map((f) => readFileSync(join(stack.logDir, f), "utf8"))
    .join("\n");
  expect(logs).not.toContain("unhandled error");
});
