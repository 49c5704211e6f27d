/**
 * Bun's `TracingChannel` (node:diagnostics_channel) has no `hasSubscribers` getter (Bun 1.4.5;
 * oven-sh/bun#27805), which Node has had since 20.13. ioredis 5.11 traces a command unless that
 * getter says false, so on Bun every command went through `tracePromise` with a context built
 * for nobody (its arguments turned into strings, two more promises). This adds the getter as
 * Node defines it (any of the five channels has a subscriber) where the runtime lacks it, so
 * commands skip tracing when nothing listens and an APM that subscribes still sees every one.
 * What it saves: bench/redis-tracing.ts. Imported by kit/redis (and the benchmarks' Bun peers).
 */
import dc from "node:diagnostics_channel";

type Channels = Record<"start" | "end" | "asyncStart" | "asyncEnd" | "error", { hasSubscribers: boolean }>;

function addTracingHasSubscribers(): void {
  const proto = Object.getPrototypeOf(dc.tracingChannel("parley:probe")) as object | null;
  if (!proto || "hasSubscribers" in proto) return;
  Object.defineProperty(proto, "hasSubscribers", {
    configurable: true,
    get(this: Channels): boolean {
      return (
        this.start.hasSubscribers ||
        this.end.hasSubscribers ||
        this.asyncStart.hasSubscribers ||
        this.asyncEnd.hasSubscribers ||
        this.error.hasSubscribers
      );
    },
  });
}

addTracingHasSubscribers();
