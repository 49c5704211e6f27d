/**
 * Proves that mongoose works on the MongoDB-compatible server the tests use (FerretDB here,
 * mongod wherever it is available) for the features the api relies on.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import mongoose, { Schema } from "mongoose";
import { testMongoUrl } from "./helpers/env.ts";

const conn = mongoose.createConnection(testMongoUrl("compat"), { serverSelectionTimeoutMS: 5000 });

const Account = conn.model("Account", new Schema({ email: { type: String, required: true, unique: true } }));
const Counter = conn.model("Counter", new Schema({ _id: String, value: { type: Number, default: 0 } }));
const Post = conn.model(
  "Post",
  new Schema({ room: { type: String, required: true }, n: { type: Number, required: true } }).index({ room: 1, n: 1 }),
);

beforeAll(async () => {
  await conn.asPromise();
  await conn.dropDatabase();
  await Promise.all([Account.init(), Counter.init(), Post.init()]);
});
afterAll(async () => {
  await conn.dropDatabase();
  await conn.close();
});

test("a unique index refuses a duplicate", async () => {
  await Account.create({ email: "a@example.test" });
  const err = await Account.create({ email: "a@example.test" }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as { code?: number }).code).toBe(11000);
  expect(await Account.countDocuments({ email: "a@example.test" })).toBe(1);
});

test("findOneAndUpdate with $inc is atomic under 50 concurrent calls", async () => {
  // The api increments a counter on a document that exists (the conversation), so do the same;
  // concurrent *upserts* may race into a duplicate key on MongoDB too.
  await Counter.create({ _id: "seq", value: 0 });
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      Counter.findOneAndUpdate({ _id: "seq" }, { $inc: { value: 1 } }, { new: true }).lean(),
    ),
  );
  const values = results.map((r) => r?.value).sort((a, b) => (a ?? 0) - (b ?? 0));
  expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect((await Counter.findById("seq").lean())?.value).toBe(50);
});

test("a query by an indexed field with sort and limit returns the right documents", async () => {
  await Post.insertMany([
    ...Array.from({ length: 30 }, (_, i) => ({ room: "a", n: i + 1 })),
    ...Array.from({ length: 10 }, (_, i) => ({ room: "b", n: i + 1 })),
  ]);
  const newest = await Post.find({ room: "a", n: { $lt: 25 } }).sort({ n: -1 }).limit(5).lean();
  expect(newest.map((p) => p.n)).toEqual([24, 23, 22, 21, 20]);
  const oldest = await Post.find({ room: "b", n: { $gt: 3 } }).sort({ n: 1 }).limit(3).lean();
  expect(oldest.map((p) => p.n)).toEqual([4, 5, 6]);
});
