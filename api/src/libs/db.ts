/**
 * MongoDB through mongoose: one connection per app (and a short-lived one for indexes and
 * migrations), the models, their indexes and migrations.
 *
 * Commands are never buffered (bufferCommands: false) and server selection gives up after 2 s,
 * so a missing database answers 503 quickly instead of hanging requests. The first connect is
 * retried in the background forever, so the process starts (and /readyz says "down") even when
 * the database is momentarily away; after that the driver reconnects by itself.
 *
 * Correctness rests on unique indexes only: the MongoDB-compatible server used in development
 * (FerretDB) does not make read-modify-write updates atomic.
 */
import mongoose, { type Connection, type Model, Types } from "mongoose";
import type { Logger } from "@parley/kit/log";
import {
  schemas,
  type ChangeDoc,
  type ConversationDoc,
  type MentionDoc,
  type MessageDoc,
  type MetaDoc,
  type PrefDoc,
  type ReadDoc,
  type UserDoc,
  type UsernamePrefixDoc,
} from "./collections.ts";
import { migrate } from "./migrations.ts";

export type { ChangeDoc, ConversationDoc, MessageDoc, ReadDoc, UserDoc } from "./collections.ts";

export type Db = {
  conn: Connection;
  User: Model<UserDoc>;
  UsernamePrefix: Model<UsernamePrefixDoc>;
  Conversation: Model<ConversationDoc>;
  Message: Model<MessageDoc>;
  Read: Model<ReadDoc>;
  Change: Model<ChangeDoc>;
  Mention: Model<MentionDoc>;
  Pref: Model<PrefDoc>;
  Meta: Model<MetaDoc>;
  /** true once connected and every index exists (what /readyz reports with a ping) */
  ready(): Promise<boolean>;
  close(): Promise<void>;
};

/** The models of every collection, bound to one connection. */
function modelsOn(conn: Connection) {
  return {
    User: conn.model<UserDoc>("User", schemas.User, "users"),
    UsernamePrefix: conn.model<UsernamePrefixDoc>("UsernamePrefix", schemas.UsernamePrefix, "usernamePrefixes"),
    Conversation: conn.model<ConversationDoc>("Conversation", schemas.Conversation, "conversations"),
    Message: conn.model<MessageDoc>("Message", schemas.Message, "messages"),
    Read: conn.model<ReadDoc>("Read", schemas.Read, "reads"),
    Change: conn.model<ChangeDoc>("Change", schemas.Change, "changes"),
    Mention: conn.model<MentionDoc>("Mention", schemas.Mention, "mentions"),
    Pref: conn.model<PrefDoc>("Pref", schemas.Pref, "prefs"),
    Meta: conn.model<MetaDoc>("Meta", schemas.Meta, "meta"),
  };
}

const CONNECT = {
  serverSelectionTimeoutMS: 2000,
  heartbeatFrequencyMS: 2000,
  bufferCommands: false,
  autoIndex: false,
} as const;

/**
 * Every request's operation has a deadline (the driver's timeoutMS, 10 s; every query a
 * request makes is short). Found by fault/db-restart.test.ts: when the database server went
 * away, an operation could stay on a connection whose closing the driver never noticed under
 * Bun (socketTimeoutMS did not fire either), and after a restart or two every send hung while
 * pings passed. With a deadline it fails (503), the connection is dropped and the next one works.
 */
const SERVE = { ...CONNECT, socketTimeoutMS: 10_000, waitQueueTimeoutMS: 3000, timeoutMS: 10_000 } as const;

const WATCH_MS = 2000;
const WATCH_FAILURES = 3;

/** Whether the connection answers a ping within 1.5 s. */
async function pings(conn: Connection): Promise<boolean> {
  if (conn.readyState !== 1 || !conn.db) return false;
  try {
    await Promise.race([conn.db.admin().ping(), Bun.sleep(1500).then(() => Promise.reject(new Error("ping timeout")))]);
    return true;
  } catch {
    return false;
  }
}

/** Whether the server answers a new client (connected for this question only). */
async function answersFresh(url: string): Promise<boolean> {
  const probe = mongoose.createConnection();
  try {
    await probe.openUri(url, { ...CONNECT, timeoutMS: 3000 });
    return await pings(probe);
  } catch {
    return false;
  } finally {
    await probe.close(true).catch(() => {});
  }
}

export function connectDb(url: string, log: Logger, { retryMs = 1000 } = {}): Db {
  const conn = mongoose.createConnection();
  conn.set("bufferCommands", false);
  const models = modelsOn(conn);
  let indexed = false;
  let closed = false;

  /**
   * Indexes and migrations on a connection of their own, without a deadline: building an
   * index or migrating a million messages takes longer than any request may.
   */
  const maintain = async (): Promise<void> => {
    const maintenance = mongoose.createConnection();
    try {
      await maintenance.openUri(url, CONNECT);
      const m = modelsOn(maintenance);
      await Promise.all(Object.values(m).map((model) => model.createIndexes()));
      await migrate(m, log);
    } finally {
      await maintenance.close().catch(() => {});
    }
  };

  const open = async (): Promise<void> => {
    while (!closed) {
      try {
        // the serving connection first: until it is open, requests must fail fast (503), and an
        // unopened connection would hold them (buffering) instead
        await conn.openUri(url, SERVE);
        await maintain();
        indexed = true;
        log.info("mongo connected, indexes ensured, schema current");
        void watch();
        return;
      } catch (err) {
        if (closed) return;
        log.warn({ err: (err as Error).message }, "mongo not reachable yet, retrying");
        await conn.close().catch(() => {});
        await Bun.sleep(retryMs);
      }
    }
  };

  /**
   * The driver reconnects by itself, except when it does not: in a long fault run, after a
   * restart of the database every operation failed server selection for minutes while the
   * server answered a fresh client at once (under Bun; the cause is not pinned down, a hung
   * connection attempt of the driver's monitor is the likeliest). Every WATCH_MS the connection
   * is pinged; after WATCH_FAILURES failures in a row a fresh short-lived client tries the
   * server, and if it answers, the connection is opened again (the models stay bound to it).
   */
  const watch = async (): Promise<void> => {
    let failures = 0;
    while (!closed) {
      await Bun.sleep(WATCH_MS);
      if (closed) return;
      failures = (await pings(conn)) ? 0 : failures + 1;
      if (failures < WATCH_FAILURES || !(await answersFresh(url))) continue;
      log.warn("the database answers a new client but not this connection: opening it again");
      failures = 0;
      // not forced: mongoose refuses every later operation of a force-closed connection, reopened
      // or not; bounded, as the close may wait on what hangs
      await Promise.race([conn.close().catch(() => {}), Bun.sleep(3000)]);
      if (closed) return;
      await Promise.race([
        conn.openUri(url, SERVE).catch((err: Error) => log.warn({ err: err.message }, "reopening failed")),
        Bun.sleep(10_000),
      ]);
    }
  };

  void open();

  return {
    conn,
    ...models,
    async ready() {
      return indexed && (await pings(conn));
    },
    async close() {
      closed = true;
      await conn.close().catch(() => {});
    },
  };
}

/** Errors that mean "the database is not answering" rather than "the request is wrong". */
export function isDbUnavailable(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 3) return false;
  if (
    /^Mongo(ose)?(ServerSelection|Network|NetworkTimeout|NotConnected|TopologyClosed|PoolCleared|WaitQueueTimeout|OperationTimeout)Error$/.test(
      err.name,
    )
  )
    return true;
  // A batch insert that lost its connection fails as a MongoBulkWriteError carrying the network
  // error's message (found by the fault test: a 500 while the database was away, where a single
  // insert's MongoNetworkError was a 503)
  if (
    /before initial connection is complete|Client must be connected|client was closed|session that has ended|context canceled|timed out (during|while)|connection .* closed|Topology is closed|database is locked|SQLITE_BUSY|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i.test(
      err.message,
    )
  )
    return true;
  return isDbUnavailable((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * A write the server refused for now and that can simply be tried again: FerretDB's SQLite
 * handler answers "database is locked (SQLITE_BUSY)" under concurrent writers.
 */
export function isTransientWriteError(err: unknown): boolean {
  return err instanceof Error && /database is locked|SQLITE_BUSY/i.test(err.message);
}

export const isDuplicateKey = (err: unknown): boolean => (err as { code?: number } | null)?.code === 11000;

export const oid = (id: string) => new Types.ObjectId(id);
