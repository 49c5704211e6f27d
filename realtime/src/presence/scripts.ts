/**
 * Lua scripts of the presence registry. Each runs atomically in Redis, so "was the user offline
 * before?" and "is anyone left?" are decided together with the change they depend on.
 *
 * Keys (contract/src/frames.ts presenceKeys): per user a sorted set replicaId → expiry (ms), and
 * one `deadlines` set `${userId}|${replicaId}` → the same expiry, which the sweepers scan.
 */

/** KEYS: user, deadlines. ARGV: replicaId, expiry, now, deadlineMember, channel, payload, keyTtlMs.
 * Adds or refreshes this replica's entry; publishes "online" when no live entry existed. */
export const MARK_ONLINE = `
local live = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if live == 0 then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 1
end
return 0
`;

/** KEYS: user, deadlines. ARGV: replicaId, now, deadlineMember, channel, payload.
 * Removes this replica's entry; publishes "offline" when no live entry remains. */
export const MARK_OFFLINE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') == 0 then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return 1
end
return 0
`;

/** KEYS: deadlines, user. ARGV: deadlineMember, replicaId, now, channel, payload.
 * Claims one expired deadline (only one sweeper can: the check and ZREM are one step), drops
 * the matching expired entry, and publishes "offline" if that left the user with none live.
 * Returns -1 when someone else claimed it or it was refreshed meanwhile. */
export const SWEEP_ONE = `
local d = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not d) or tonumber(d) > tonumber(ARGV[3]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
local s = redis.call('ZSCORE', KEYS[2], ARGV[2])
if (not s) or tonumber(s) > tonumber(ARGV[3]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('ZCOUNT', KEYS[2], ARGV[3], '+inf') == 0 then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
  return 1
end
return 0
`;
