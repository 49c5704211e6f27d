/**
 * Where the test harness (scripts/test.ts) put the throwaway Redis and MongoDB-compatible
 * server; each test file gets its own database.
 */
const mongoBase = process.env.TEST_MONGO_URL;
const redisUrl = process.env.TEST_REDIS_URL;
if (!mongoBase || !redisUrl) {
  throw new Error("TEST_MONGO_URL and TEST_REDIS_URL are not set: run the tests with `npm test` (scripts/test.ts starts both).");
}

export function testMongoUrl(name: string): string {
  const u = new URL(mongoBase!);
  u.pathname = `/t_rt_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  return u.toString();
}
export const testRedisUrl = redisUrl;
export const JWT_SECRET = "realtime-tests-secret-0123456789abcdef";
