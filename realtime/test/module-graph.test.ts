/**
 * realtime/src's folders depend on one another in one direction only: no import cycle between
 * them. Type-only imports count too (they tie two designs together just the same), so the
 * imports are read with TypeScript's preProcessFile rather than a bundler's scan, which drops
 * them. Each file at the top of src/ (app.ts, config.ts, index.ts) is a node of its own.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

const SRC = resolve(import.meta.dir, "../src");

/** node → the nodes it imports, each with one import that makes the edge (for the failure message) */
type Graph = Map<string, Map<string, string>>;

/** The folder (or top-level file) of a path under src/; null outside src/. */
function nodeOf(path: string): string | null {
  const rel = relative(SRC, path);
  return rel.startsWith("..") ? null : (rel.split(sep)[0] ?? null);
}

function folderGraph(): Graph {
  const graph: Graph = new Map();
  for (const rel of new Bun.Glob("**/*.ts").scanSync({ cwd: SRC })) {
    const file = join(SRC, rel);
    const from = nodeOf(file) ?? rel;
    const edges = graph.get(from) ?? new Map<string, string>();
    graph.set(from, edges);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!fileName.startsWith(".")) continue; // packages: not part of this graph
      const to = nodeOf(resolve(dirname(file), fileName));
      if (to && to !== from && !edges.has(to)) edges.set(to, `${rel} imports ${fileName}`);
    }
  }
  return graph;
}

/** One cycle as its edges' descriptions, or null when the graph has none (depth-first search). */
export function findCycle(graph: Graph): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: { node: string; via: string }[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, "open");
    for (const [next, via] of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        const start = path.findIndex((p) => p.node === next);
        return [...path.slice(start + 1).map((p) => p.via), via];
      }
      if (state.get(next) === "done") continue;
      path.push({ node: next, via });
      const found = visit(next);
      if (found) return found;
      path.pop();
    }
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    path.splice(0, path.length, { node, via: "" });
    const found = visit(node);
    if (found) return found;
  }
  return null;
}

test("realtime/src has no import cycle between its folders", () => {
  const graph = folderGraph();
  expect([...graph.keys()].sort()).toEqual(expect.arrayContaining(["app.ts", "fanout", "presence", "socket"]));
  expect(findCycle(graph)).toBeNull();
});

test("the check sees a cycle, type-only imports included", () => {
  const graph: Graph = new Map([
    ["fanout", new Map([["socket", "fanout/a.ts imports type ../socket/b.ts"]])],
    ["socket", new Map([["fanout", "socket/b.ts imports ../fanout/a.ts"]])],
    ["presence", new Map()],
  ]);
  expect(findCycle(graph)).toEqual(["fanout/a.ts imports type ../socket/b.ts", "socket/b.ts imports ../fanout/a.ts"]);
  const typeOnly = ts.preProcessFile('import type { Session } from "../socket/session.ts";', true, true);
  expect(typeOnly.importedFiles.map((f) => f.fileName)).toEqual(["../socket/session.ts"]);
});
