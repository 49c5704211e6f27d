export { Readiness } from "@parley/kit/health";
