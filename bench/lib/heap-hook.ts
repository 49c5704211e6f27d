/**
 * Preloaded into a realtime replica by bench/socket-memory.ts (`bun --preload`): on SIGUSR2 it
 * collects garbage (JavaScriptCore and mimalloc) and writes the heap's figures, object counts
 * by type among them, to `$HEAP_HOOK_DIR/heap-<pid>-<n>.json`. Not part of the product.
 */
import { heapStats } from "bun:jsc";

let n = 0;
process.on("SIGUSR2", () => {
  Bun.gc(true);
  const s = heapStats();
  const file = `${process.env.HEAP_HOOK_DIR ?? "/tmp"}/heap-${process.pid}-${n++}.json`;
  void Bun.write(
    file,
    JSON.stringify({
      heapSize: s.heapSize,
      extraMemorySize: s.extraMemorySize,
      objectCount: s.objectCount,
      objectTypeCounts: s.objectTypeCounts,
    }),
  );
});
