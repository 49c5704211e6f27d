export * from "./schemas.ts";
export * from "./frames.ts";
export * from "./marks.ts";
export * from "./limits.ts";
export * from "./errors.ts";
export * from "./text.ts";
