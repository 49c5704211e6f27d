/**
 * For test files: where the harness (scripts/test.ts) put the throwaway Redis and
 * MongoDB-compatible server. Each caller gets its own database, so test files never see each
 * other's data.
 */
const mongoBase = process.env.TEST_MONGO_URL;
const redisUrl = process.env.TEST_REDIS_URL;
if (!mongoBase || !redisUrl) {
  throw new Error(
    "TEST_MONGO_URL and TEST_REDIS_URL are not set: run the tests with `npm test` (scripts/test.ts starts both).",
  );
}

/** A fresh database URL on the test server; `name` shows up in the database name for debugging. */
export function testMongoUrl(name: string): string {
  const u = new URL(mongoBase!);
  u.pathname = `/t_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  return u.toString();
}
export const testRedisUrl: string = redisUrl;
