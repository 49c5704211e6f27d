export { testMongoUrl, testRedisUrl } from "../../../scripts/lib/testenv.ts";
