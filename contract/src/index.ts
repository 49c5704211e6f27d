export * from "./schemas.ts";
export * from "./frames.ts";
export * from "./limits.ts";
