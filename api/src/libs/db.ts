/**
 * MongoDB through mongoose: one connection per app, the models, their indexes and migrations.
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

export function connectDb(url: string, log: Logger, { retryMs = 1000 } = {}): Db {
  const conn = mongoose.createConnection();
  conn.set("bufferCommands", false);
  const User = conn.model<UserDoc>("User", schemas.User, "users");
  const UsernamePrefix = conn.model<UsernamePrefixDoc>("UsernamePrefix", schemas.UsernamePrefix, "usernamePrefixes");
  const Conversation = conn.model<ConversationDoc>("Conversation", schemas.Conversation, "conversations");
  const Message = conn.model<MessageDoc>("Message", schemas.Message, "messages");
  const Read = conn.model<ReadDoc>("Read", schemas.Read, "reads");
  const Change = conn.model<ChangeDoc>("Change", schemas.Change, "changes");
  const Mention = conn.model<MentionDoc>("Mention", schemas.Mention, "mentions");
  const Pref = conn.model<PrefDoc>("Pref", schemas.Pref, "prefs");
  const Meta = conn.model<MetaDoc>("Meta", schemas.Meta, "meta");
  let indexed = false;
  let closed = false;

  const open = async (): Promise<void> => {
    while (!closed) {
      try {
        // socketTimeoutMS: a database that vanishes without closing the connection (a crash
        // behind a proxy, a partition) must not hang requests; every query here is short
        await conn.openUri(url, {
          serverSelectionTimeoutMS: 2000,
          socketTimeoutMS: 10_000,
          heartbeatFrequencyMS: 2000,
          bufferCommands: false,
          autoIndex: false,
        });
        await Promise.all(
          [User, UsernamePrefix, Conversation, Message, Read, Change, Mention, Pref, Meta].map((m) =>
            m.createIndexes(),
          ),
        );
        await migrate({ User, UsernamePrefix, Conversation, Message, Read, Meta }, log);
        indexed = true;
        log.info("mongo connected, indexes ensured, schema current");
        return;
      } catch (err) {
        if (closed) return;
        log.warn({ err: (err as Error).message }, "mongo not reachable yet, retrying");
        await conn.close().catch(() => {});
        await Bun.sleep(retryMs);
      }
    }
  };
  void open();

  return {
    conn,
    User,
    UsernamePrefix,
    Conversation,
    Message,
    Read,
    Change,
    Mention,
    Pref,
    Meta,
    async ready() {
      if (!indexed || conn.readyState !== 1 || !conn.db) return false;
      try {
        await Promise.race([
          conn.db.admin().ping(),
          Bun.sleep(1500).then(() => Promise.reject(new Error("ping timeout"))),
        ]);
        return true;
      } catch {
        return false;
      }
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
    /^Mongo(ose)?(ServerSelection|Network|NetworkTimeout|NotConnected|TopologyClosed|PoolCleared)Error$/.test(err.name)
  )
    return true;
  // A batch insert that lost its connection fails as a MongoBulkWriteError carrying the network
  // error's message (found by the fault test: a 500 while the database was away, where a single
  // insert's MongoNetworkError was a 503)
  if (
    /before initial connection is complete|Client must be connected|connection .* closed|Topology is closed|database is locked|SQLITE_BUSY|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up/i.test(
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
