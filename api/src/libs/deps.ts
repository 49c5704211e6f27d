/** What the modules are built from: one bundle, created by app.ts (or a test) and passed down. */
import type { Logger } from "@parley/kit/log";
import type { Revocations } from "@parley/kit/revocation";
import type { Config } from "../config.ts";
import type { ConversationCache } from "../modules/conversations/cache.ts";
import type { Bookkeeper } from "../modules/messages/bookkeeping.ts";
import type { ChangeSequencer, MessageSequencer } from "../modules/messages/sequencer.ts";
import type { Db } from "./db.ts";
import type { KnownUsers } from "./known-users.ts";
import type { ApiMetrics } from "./metrics.ts";
import type { Passwords } from "./passwords.ts";
import type { Publisher } from "./publish.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { Redis } from "./redis.ts";
import type { SendRate } from "./send-rate.ts";

export type Deps = {
  config: Config;
  log: Logger;
  metrics: ApiMetrics;
  db: Db;
  redis: Redis;
  publisher: Publisher;
  limiter: RateLimiter;
  /** conversations by id for the hot paths (membership), briefly cached */
  conversations: ConversationCache;
  /** numbers and writes new messages, per conversation in arrival order */
  sequencer: MessageSequencer;
  /** numbers and writes changes of messages (rev) the same way */
  changes: ChangeSequencer;
  /** lastSeq and read positions, raised after the fact and coalesced */
  bookkeeper: Bookkeeper;
  sendRate: SendRate;
  /** argon2id hashing, in bounded gates */
  passwords: Passwords;
  /** signed-out sessions (kit/revocation) */
  revocations: Revocations;
  /** user ids known to exist, for the auth plugin */
  knownUsers: KnownUsers;
};
