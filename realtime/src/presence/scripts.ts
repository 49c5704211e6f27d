/**
 * Lua scripts of the presence registry. Each runs atomically in Redis, so "was the user offline
 * before?" and "is anyone left?" are decided together with the change they depend on, and the
 * announcement is published in the same step (in order with every other change of that user).
 *
 * Keys (contract/src/frames.ts presenceKeys): per user a sorted set replicaId → expiry (ms),
 * whose hash tag is the user's presence channel, so the set and the channel share a slot on a
 * Redis Cluster; and one `deadlines` set `${userId}|${replicaId}` → the same expiry, which the
 * sweepers scan. A script touches one of them only (on a cluster they live on different
 * shards): the deadlines are written beside the scripts, and a sweep claims a deadline first
 * (CLAIM_DEADLINE), then settles the user (SWEEP_USER).
 *
 * The publish command is an argument: PUBLISH on one server, SPUBLISH on a cluster.
 */

/** KEYS: user. ARGV: replicaId, expiry, now, channel, payload, keyTtlMs, publish command.
 * Adds or refreshes this replica's entry; publishes "online" when no live entry existed. */
export const MARK_ONLINE = `
local live = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if live == 0 then
  redis.call(ARGV[7], ARGV[4], ARGV[5])
  return 1
end
return 0
`;

/** KEYS: user. ARGV: replicaId, now, channel, payload, publish command.
 * Removes this replica's entry; publishes "offline" when no live entry remains. */
export const MARK_OFFLINE = `
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') == 0 then
  redis.call(ARGV[5], ARGV[3], ARGV[4])
  return 1
end
return 0
`;

/** KEYS: deadlines. ARGV: deadlineMember, now.
 * Claims one expired deadline (only one sweeper can: the check and ZREM are one step).
 * Returns 1 when claimed, 0 when someone else claimed it or it was refreshed meanwhile. */
export const CLAIM_DEADLINE = `
local d = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not d) or tonumber(d) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

/** KEYS: user. ARGV: replicaId, now, channel, payload, publish command.
 * After a claim: drops the replica's entry if it is still expired (a heartbeat may have come
 * since), and publishes "offline" if that left the user with none live (then returns 1). */
export const SWEEP_USER = `
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') == 0 then
  redis.call(ARGV[5], ARGV[3], ARGV[4])
  return 1
end
return 0
`;
