/**
 * Seeding for the benchmarks: users, conversations and messages written straight into the
 * database with bulk inserts (registering thousands of users through argon2id would take
 * minutes and measure nothing of interest), in the api's own document shapes, plus session
 * tokens signed as the api signs them.
 */
import { newSessionId, sessionSigner } from "@parley/kit/session";
import mongoose, { Types } from "mongoose";
import {
  blockKey,
  blockOf,
  messageId,
  pageKey,
  pageOf,
  prefixEntries,
  readId,
} from "../../api/src/libs/collections.ts";

export type SeededUser = { id: string; username: string };
export type SeededConversation = { id: string; memberIds: string[] };

const WORDS = [
  "amber",
  "birch",
  "cedar",
  "delta",
  "ember",
  "fjord",
  "gale",
  "harbor",
  "iris",
  "juniper",
  "kestrel",
  "lumen",
  "maple",
  "nova",
  "onyx",
  "pine",
  "quartz",
  "raven",
  "sage",
  "tide",
  "umber",
  "vale",
  "willow",
  "yarrow",
  "zephyr",
];

/** Usernames that look like people's: varied prefixes, so a prefix search finds a realistic few. */
export const usernameOf = (i: number) =>
  `${WORDS[i % WORDS.length]}${WORDS[Math.floor(i / WORDS.length) % WORDS.length]!.slice(0, 3)}_${i}`;

export async function withDb<T>(url: string, f: (db: mongoose.mongo.Db) => Promise<T>): Promise<T> {
  const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    return await f(conn.db!);
  } finally {
    await conn.close();
  }
}

async function insertInBatches(db: mongoose.mongo.Db, collection: string, docs: Iterable<object>, batch = 1000) {
  let chunk: object[] = [];
  for (const d of docs) {
    chunk.push(d);
    if (chunk.length >= batch) {
      await db.collection(collection).insertMany(chunk, { ordered: false });
      chunk = [];
    }
  }
  if (chunk.length > 0) await db.collection(collection).insertMany(chunk, { ordered: false });
}

/** `count` users who cannot sign in with a password (their hash is not a hash): tokens only. */
export async function seedUsers(db: mongoose.mongo.Db, count: number): Promise<SeededUser[]> {
  const now = new Date();
  const users = Array.from({ length: count }, (_, i) => ({ _id: new Types.ObjectId(), username: usernameOf(i) }));
  await insertInBatches(
    db,
    "users",
    users.map((u) => ({
      _id: u._id,
      username: u.username,
      usernameLower: u.username.toLowerCase(),
      passwordHash: "seeded: no password",
      createdAt: now,
    })),
  );
  await insertInBatches(db, "usernamePrefixes", users.flatMap(prefixEntries));
  return users.map((u) => ({ id: u._id.toHexString(), username: u.username }));
}

/**
 * Group conversations with the given members (lists of indexes into `users`), and each
 * member's entry in `reads` (what the conversation list is found through) at `readSeq(k)` for
 * the conversation's k-th member (0 unless said).
 */
export async function seedConversations(
  db: mongoose.mongo.Db,
  users: SeededUser[],
  memberLists: number[][],
  readSeq: (member: number) => number = () => 0,
): Promise<SeededConversation[]> {
  const now = Date.now();
  const convs = memberLists.map((members, i) => ({
    _id: new Types.ObjectId(),
    members: members.map((m) => users[m]!),
    at: new Date(now - (memberLists.length - i) * 1000),
  }));
  await insertInBatches(
    db,
    "conversations",
    convs.map((c) => ({
      _id: c._id,
      kind: "group",
      title: `group ${c._id.toHexString().slice(-6)}`,
      memberIds: c.members.map((m) => new Types.ObjectId(m.id)),
      memberNames: c.members.map((m) => m.username),
      directKey: `group:${c._id.toHexString()}`,
      lastSeq: 0,
      lastMessage: null,
      lastSent: {},
      lastActivityAt: c.at,
      createdAt: c.at,
    })),
  );
  await insertInBatches(
    db,
    "reads",
    convs.flatMap((c) =>
      c.members.map((u, k) => ({
        _id: readId(c._id.toHexString(), u.id),
        conversationId: c._id,
        userId: new Types.ObjectId(u.id),
        seq: readSeq(k),
      })),
    ),
  );
  return convs.map((c) => ({ id: c._id.toHexString(), memberIds: c.members.map((m) => m.id) }));
}

/**
 * `perConversation` messages in each conversation (seq 1..n, senders taking turns), with the
 * conversations' lastSeq/lastMessage set as the api would leave them (read positions: see
 * seedConversations). Reports progress every 100,000 messages.
 */
export async function seedMessages(
  db: mongoose.mongo.Db,
  convs: SeededConversation[],
  perConversation: number,
  progress: (n: number) => void = () => {},
): Promise<number> {
  const base = Date.now() - perConversation * 60_000;
  let written = 0;
  function* messages() {
    for (const c of convs) {
      for (let seq = 1; seq <= perConversation; seq++) {
        const senderId = c.memberIds[seq % c.memberIds.length]!;
        const clientId = `seed-${seq}`;
        yield {
          _id: messageId(c.id, senderId, clientId),
          conversationId: new Types.ObjectId(c.id),
          seq,
          block: blockKey(c.id, blockOf(seq)),
          page: pageKey(c.id, pageOf(seq)),
          senderId: new Types.ObjectId(senderId),
          body: `seeded message ${seq} of a conversation that goes on for a while, about as long as a chat line`,
          clientId,
          createdAt: new Date(base + seq * 60_000),
        };
        if (++written % 100_000 === 0) progress(written);
      }
    }
  }
  await insertInBatches(db, "messages", messages(), 2000);
  for (const c of convs) {
    const senderId = c.memberIds[perConversation % c.memberIds.length]!;
    await db.collection("conversations").updateOne(
      { _id: new Types.ObjectId(c.id) },
      {
        $set: {
          lastSeq: perConversation,
          lastActivityAt: new Date(base + perConversation * 60_000),
          lastMessage: {
            _id: messageId(c.id, senderId, `seed-${perConversation}`),
            seq: perConversation,
            senderId: new Types.ObjectId(senderId),
            body: "the last seeded message",
            clientId: `seed-${perConversation}`,
            createdAt: new Date(base + perConversation * 60_000),
          },
        },
      },
    );
  }
  return written;
}

/** Signs HS256 session tokens as the api issues them (same secret, issuer, audience, claims). */
export async function tokenSigner(secret: string): Promise<(user: SeededUser) => Promise<string>> {
  const sign = sessionSigner({ jwtSecret: secret, jwtIssuer: "parley", jwtAudience: "parley" });
  return (user) => {
    const now = Math.floor(Date.now() / 1000);
    // the session this token belongs to (what signing out revokes)
    return sign({ sub: user.id, username: user.username, sid: newSessionId(), sat: Date.now() }, now + 6 * 3600, now);
  };
}
