/** The concurrency gate (pure logic): never more than its limit at once, in arrival order. */
import { expect, test } from "bun:test";
import { Gate } from "../src/gate.ts";

test("at most `limit` tasks run at once, the rest in the order they came", async () => {
  const gate = new Gate(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      gate.run(async () => {
        running++;
        most = Math.max(most, running);
        order.push(i);
        await Bun.sleep(5);
        running--;
      }),
    ),
  );
  expect(most).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
});

test("a failing task frees its place", async () => {
  const gate = new Gate(1);
  await expect(gate.run(async () => Promise.reject(new Error("no")))).rejects.toThrow("no");
  expect(await gate.run(async () => 42)).toBe(42);
});

test("a place taken with enter() is held until left, once, however often leave is called", async () => {
  const gate = new Gate(1);
  const leave = await gate.enter();
  let second = false;
  const next = gate.enter().then((l) => {
    second = true;
    return l;
  });
  await Bun.sleep(5);
  expect(second).toBe(false);
  expect(gate.waitingNow).toBe(1);
  leave();
  leave(); // twice: the place is given back once, not twice
  const leaveNext = await next;
  expect(second).toBe(true);
  let third = false;
  const after = gate.enter().then(() => {
    third = true;
  });
  await Bun.sleep(5);
  expect(third).toBe(false);
  leaveNext();
  await after;
  expect(third).toBe(true);
});

test("tasks that said they can wait let every urgent one waiting go first, each kind in arrival order", async () => {
  const gate = new Gate(1);
  const leave = await gate.enter();
  const order: string[] = [];
  const queued = [
    gate.run(async () => void order.push("later 1"), false),
    gate.run(async () => void order.push("urgent 1")),
    gate.run(async () => void order.push("later 2"), false),
    gate.run(async () => void order.push("urgent 2")),
  ];
  expect(gate.waitingNow).toBe(4);
  leave();
  await Promise.all(queued);
  expect(order).toEqual(["urgent 1", "urgent 2", "later 1", "later 2"]);
});
