import { t } from "elysia";

export const Readiness = t.Object({
  mongo: t.Union([t.Literal("up"), t.Literal("down")]),
  redis: t.Union([t.Literal("up"), t.Literal("down")]),
});
export type Readiness = typeof Readiness.static;
