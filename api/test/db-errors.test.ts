/**
 * Which database errors mean "the database is away" (503, try again) rather than a bug (500).
 * Found by the fault test: a batch insert that lost its connection failed as a
 * MongoBulkWriteError carrying the network error's message, and answered 500 where a single
 * insert's MongoNetworkError answered 503. Pure classification, so the errors are made here.
 */
import { expect, test } from "bun:test";
import { mongo } from "mongoose";
import { isDbUnavailable } from "../src/libs/db.ts";

const named = (name: string, message: string, cause?: unknown) =>
  Object.assign(new Error(message, { cause }), { name });

test("a batch insert that lost its connection is 'unavailable', like a single insert's network error", () => {
  const bulk = named("MongoBulkWriteError", "connect ECONNREFUSED 127.0.0.1:43117");
  expect(isDbUnavailable(bulk)).toBe(true);
  expect(
    isDbUnavailable(named("MongoBulkWriteError", "write failed", new mongo.MongoNetworkError("socket hang up"))),
  ).toBe(true);
  expect(isDbUnavailable(new mongo.MongoNetworkError("connection 3 to 127.0.0.1:1 closed"))).toBe(true);
  expect(isDbUnavailable(named("MongoServerSelectionError", "Server selection timed out after 2000 ms"))).toBe(true);
  expect(
    isDbUnavailable(
      named("MongoWaitQueueTimeoutError", "Timed out while checking out a connection from connection pool"),
    ),
  ).toBe(true);
  expect(isDbUnavailable(named("MongoTopologyClosedError", "Operation interrupted because client was closed"))).toBe(
    true,
  );
  expect(isDbUnavailable(named("MongoExpiredSessionError", "Cannot use a session that has ended"))).toBe(true);
  // a batch insert past its deadline (the driver's timeoutMS) carries only the message
  expect(isDbUnavailable(named("MongoBulkWriteError", "Timed out during server selection"))).toBe(true);
  // FerretDB stopping under an insert
  expect(
    isDbUnavailable(named("MongoServerError", "[msg_insert.go:168 handler.(*Handler).MsgInsert] context canceled")),
  ).toBe(true);
  expect(isDbUnavailable(named("MongoOperationTimeoutError", "Timed out during socket read (10000ms)"))).toBe(true);
});

test("a request's own fault, or a bug, is not 'unavailable'", () => {
  expect(isDbUnavailable(named("MongoBulkWriteError", "E11000 duplicate key error collection: messages"))).toBe(false);
  expect(isDbUnavailable(new TypeError("Cannot read properties of undefined"))).toBe(false);
  expect(isDbUnavailable("ECONNREFUSED")).toBe(false);
});
