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
 *
 * Each script that changes a user's entries also rewrites their route (KEYS[2], the same hash
 * tag): the replica ids of every entry, expired or not, which publishers read to route events
 * (kit/route). An entry leaves the route only when it leaves the set (offline, or swept).
 */

/** Rewrites the route (KEYS[2]) from the set (KEYS[1]); it expires with the set. */
const WRITE_ROUTE = `
local function writeRoute(ttl)
  local replicas = redis.call('ZRANGE', KEYS[1], 0, -1)
  if #replicas == 0 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('SET', KEYS[2], table.concat(replicas, ','), 'PX', ttl)
  end
end
`;

/** KEYS: user, route. ARGV: replicaId, expiry, now, channel, payload, keyTtlMs, publish command.
 * Adds or refreshes this replica's entry; publishes "online" when no live entry existed.
 * Returns 1 when it announced "online", plus 2 when this replica had no entry (it was new, or a
 * sweeper had removed it: events routed meanwhile did not come here). */
export const MARK_ONLINE = `${WRITE_ROUTE}
local live = redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
local added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
-- a heartbeat changes no route: it only keeps it as long as the set (every local user, every 5 s)
if added == 1 or redis.call('PEXPIRE', KEYS[2], ARGV[6]) == 0 then writeRoute(ARGV[6]) end
local announced = 0
if live == 0 then
  redis.call(ARGV[7], ARGV[4], ARGV[5])
  announced = 1
end
return announced + 2 * added
`;

/** KEYS: user, route. ARGV: replicaId, now, channel, payload, publish command, keyTtlMs.
 * Removes this replica's entry; publishes "offline" when no live entry remains. */
export const MARK_OFFLINE = `${WRITE_ROUTE}
redis.call('ZREM', KEYS[1], ARGV[1])
writeRoute(ARGV[6])
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

/** KEYS: user, route. ARGV: replicaId, now, channel, payload, publish command, keyTtlMs.
 * After a claim: drops the replica's entry if it is still expired (a heartbeat may have come
 * since), and publishes "offline" if that left the user with none live (then returns 1). */
export const SWEEP_USER = `${WRITE_ROUTE}
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not s) or tonumber(s) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
writeRoute(ARGV[6])
if redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf') == 0 then
  redis.call(ARGV[5], ARGV[3], ARGV[4])
  return 1
end
return 0
`;
