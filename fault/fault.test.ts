/**
 * The fault test, short form (`npm test` runs it; `npm run fault` is the long form, see
 * scripts/fault.ts): clients on two replicas exchange a steady stream in several conversations
 * while a replica is SIGKILLed and started again, the api's Redis connections are killed, Redis
 * restarts and the database stops for a few seconds. Every client then holds every committed
 * message exactly once in seq order (through the browser's recovery rule: catch up by seq over
 * REST after every gap and every `ready` whose marks say something was missed), every send was
 * stored exactly once, and sends during
 * the database outage got 503 and succeeded on retry with the same clientId.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runScenario } from "./lib/scenario.ts";
import { startWorld, type World } from "./lib/world.ts";

let world: World;
let passed = false;
beforeAll(async () => {
  world = await startWorld();
}, 180_000);
afterAll(async () => {
  await world?.stop({ keepLogs: !passed });
  if (!passed) console.log(`fault test logs kept in ${world?.logDir}`);
}, 60_000);

test("faults while clients chat: nothing lost, nothing twice, in order; 503 during the outage, then stored", async () => {
  const report = await runScenario(world, {
    clients: 6,
    rate: 12,
    cycles: 1,
    gapSeconds: 3,
    outageSeconds: 4,
    tailSeconds: 8,
    log: (l) => console.log(l),
  });
  console.log(`fault report: ${JSON.stringify(report)}`);
  expect(report.failures).toEqual([]);
  expect({ lost: report.lost, duplicated: report.duplicated }).toEqual({ lost: 0, duplicated: 0 });
  expect(report.committed).toBe(report.sends);
  // the faults happened as meant: sends met the outage and were retried, sockets came back
  expect(report.sendsThat503).toBeGreaterThan(0);
  expect(report.readies).toBeGreaterThan(report.clients);
  passed = true;
}, 600_000);
