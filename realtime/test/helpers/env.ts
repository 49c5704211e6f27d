import { testMongoUrl as sharedMongoUrl } from "../../../scripts/lib/testenv.ts";

export { testRedisUrl } from "../../../scripts/lib/testenv.ts";
export const testMongoUrl = (name: string) => sharedMongoUrl(`rt_${name}`);
export const JWT_SECRET = "realtime-tests-secret-0123456789abcdef";
