/**
 * What assistive technology sees: Chromium's own accessibility tree (over CDP, shadow roots
 * flattened as a screen reader gets them) and an axe-core run injected into the page.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Page } from "playwright";

export type AxNode = {
  nodeId: string;
  childIds?: string[];
  ignored: boolean;
  role?: { value: string };
  name?: { value: string };
};

export const LANDMARKS = ["banner", "main", "navigation", "complementary", "contentinfo", "search", "form", "region"];

/**
 * Every node of the page's accessibility tree that is exposed. Ignored nodes (plain wrappers,
 * shadow hosts) are left out, and each kept node's parent is its nearest kept ancestor.
 */
export async function axTree(page: Page): Promise<AxNode[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as { nodes: AxNode[] };
    const byId = new Map(nodes.map((n) => [n.nodeId, n]));
    const keptChildren = (n: AxNode): string[] =>
      (n.childIds ?? []).flatMap((id) => {
        const c = byId.get(id);
        return !c ? [] : c.ignored ? keptChildren(c) : [id];
      });
    return nodes.filter((n) => !n.ignored).map((n) => ({ ...n, childIds: keptChildren(n) }));
  } finally {
    await cdp.detach();
  }
}

/** Landmark role → how many the page has (named regions count as landmarks, unnamed ones do not). */
export function landmarkCounts(nodes: AxNode[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    const role = n.role?.value ?? "";
    if (!LANDMARKS.includes(role) || (role === "region" && !n.name?.value)) continue;
    out[role] = (out[role] ?? 0) + 1;
  }
  return out;
}

/** The text a screen reader reads inside a node: its static text, in order. */
export function textOf(nodes: AxNode[], node: AxNode): string {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const parts: string[] = [];
  const walk = (n: AxNode) => {
    if (n.role?.value === "StaticText") parts.push(n.name?.value ?? "");
    for (const id of n.childIds ?? []) {
      const child = byId.get(id);
      if (child) walk(child);
    }
  };
  walk(node);
  return parts.join(" ").replace(/\s+/g, " ").trim();
}

/** The nearest ancestor (or the node itself) with one of `roles`. */
export function closest(nodes: AxNode[], node: AxNode, roles: string[]): AxNode | undefined {
  const parent = new Map<string, AxNode>();
  for (const n of nodes) for (const id of n.childIds ?? []) parent.set(id, n);
  for (let n: AxNode | undefined = node; n; n = parent.get(n.nodeId)) if (roles.includes(n.role?.value ?? "")) return n;
  return undefined;
}

export type AxeViolation = { id: string; impact: string | null; help: string; targets: string[] };

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core over the page as it is now. It is evaluated through DevTools, which the page's
 * Content-Security-Policy does not govern, so the page itself needs no exception.
 */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    type Result = {
      violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
    };
    const axe = (globalThis as unknown as { axe: { run(ctx: Document, o: object): Promise<Result> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
}

/** The violations that block: axe's "serious" and "critical". */
export const blocking = (vs: AxeViolation[]) => vs.filter((v) => v.impact === "serious" || v.impact === "critical");
