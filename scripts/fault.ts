/**
 * `npm run fault`: the fault test's long form. The same scenario as fault/fault.test.ts (which
 * `npm test` runs once, short), played for several cycles at a higher rate; prints a report and
 * exits 0 only with nothing lost, nothing duplicated and no failure.
 *
 *   npm run fault                               # 10 cycles, 10 clients, 40 msg/s (≈ 6 minutes)
 *   npm run fault -- --cycles 3 --rate 20 --clients 8
 */
import { parseArgs } from "node:util";
import { runScenario } from "../fault/lib/scenario.ts";
import { startWorld } from "../fault/lib/world.ts";

const { values } = parseArgs({
  options: {
    cycles: { type: "string", default: "10" },
    clients: { type: "string", default: "10" },
    rate: { type: "string", default: "40" },
    gap: { type: "string", default: "5" },
    outage: { type: "string", default: "5" },
    tail: { type: "string", default: "10" },
  },
});

const world = await startWorld();
let ok = false;
try {
  const report = await runScenario(world, {
    clients: Number(values.clients),
    rate: Number(values.rate),
    cycles: Number(values.cycles),
    gapSeconds: Number(values.gap),
    outageSeconds: Number(values.outage),
    tailSeconds: Number(values.tail),
    log: (l) => console.log(l),
  });
  console.log(JSON.stringify(report, null, 2));
  ok = report.failures.length === 0 && report.lost === 0 && report.duplicated === 0 && report.sendsThat503 > 0;
  console.log(
    `fault: ${report.seconds} s, ${report.cycles} cycles, ${report.clients} clients, ${report.rate} msg/s: ${report.committed} committed, lost ${report.lost}, duplicated ${report.duplicated}, ${report.sendsThat503} sends met a 503 and were stored on retry — ${ok ? "PASS" : "FAIL"}`,
  );
} finally {
  await world.stop({ keepLogs: !ok });
  if (!ok) console.log(`logs kept in ${world.logDir}`);
}
process.exit(ok ? 0 : 1);
