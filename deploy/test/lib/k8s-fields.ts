/**
 * Unknown-field check for Kubernetes objects. kubernetes-models' validate() checks types,
 * required fields and enums, but accepts any extra key, so a typo such as `readinesProbe`
 * would pass it — while `kubectl apply` (strict field validation since 1.27) refuses it.
 * The field lists come from the same package's type declarations (one interface per .d.ts),
 * so this follows the API version the schemas describe.
 */
import { dirname, join } from "node:path";
import { readFileSync } from "node:fs";

type TypeRef =
  | { kind: "object"; file: string }
  | { kind: "array"; of: TypeRef }
  | { kind: "map"; of: TypeRef }
  | { kind: "leaf" };

type Shape = Map<string, TypeRef> | "open";

const shapes = new Map<string, Shape>();

function resolveImport(spec: string, fromFile: string): string {
  if (spec.startsWith(".")) return join(dirname(fromFile), spec.replace(/\.js$/, ".d.ts"));
  return Bun.resolveSync(spec, dirname(fromFile)).replace(/\.js$/, ".d.ts");
}

function parseType(text: string, imports: Map<string, string>): TypeRef {
  const t = text.trim();
  const arr = /^Array<(.+)>$/.exec(t);
  if (arr) return { kind: "array", of: parseType(arr[1]!, imports) };
  const file = imports.get(t);
  if (file) return { kind: "object", file };
  return { kind: "leaf" };
}

function shapeOf(file: string): Shape {
  const cached = shapes.get(file);
  if (cached) return cached;
  const src = readFileSync(file, "utf8");
  const imports = new Map<string, string>();
  for (const m of src.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm))
    imports.set(m[1]!, resolveImport(m[2]!, file));
  const start = src.search(/^export interface \w+/m);
  if (start < 0) {
    shapes.set(file, "open"); // a type alias (IntOrString, Quantity, Time…): a value, not fields
    return "open";
  }
  const lines = src.slice(start).split("\n");
  const props = new Map<string, TypeRef>();
  for (let i = 1; i < lines.length && lines[i] !== "}"; i++) {
    const m = /^ {4}"([^"]+)"\??: (.*);?$/.exec(lines[i]!);
    if (!m) continue;
    const type = m[2]!.replace(/;$/, "");
    if (type === "{") {
      // an inline map: { [key: string]: T; }
      const inner = /^\s+\[key: string\]: (.+);$/.exec(lines[i + 1] ?? "");
      props.set(m[1]!, { kind: "map", of: inner ? parseType(inner[1]!, imports) : { kind: "leaf" } });
      continue;
    }
    props.set(m[1]!, parseType(type, imports));
  }
  const shape: Shape = props.size === 0 ? "open" : props;
  shapes.set(file, shape);
  return shape;
}

function walk(value: unknown, ref: TypeRef, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  if (ref.kind === "array") {
    if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, ref.of, `${path}[${i}]`, problems);
    return;
  }
  if (ref.kind === "map") {
    if (typeof value === "object" && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) walk(v, ref.of, `${path}.${k}`, problems);
    return;
  }
  if (ref.kind === "leaf" || typeof value !== "object" || Array.isArray(value)) return;
  const shape = shapeOf(ref.file);
  if (shape === "open") return;
  for (const [k, v] of Object.entries(value)) {
    const child = shape.get(k);
    if (!child) problems.push(`${path}.${k}: unknown field`);
    else walk(v, child, `${path}.${k}`, problems);
  }
}

/** The declaration file of the kubernetes-models class for apiVersion/kind. */
export function declarationFile(apiVersion: string, kind: string): string {
  return Bun.resolveSync(`kubernetes-models/${apiVersion}/${kind}`, import.meta.dir).replace(/\.js$/, ".d.ts");
}

/** Every key in `obj` that the Kubernetes API type does not define, as "path: unknown field". */
export function unknownFields(obj: { apiVersion: string; kind: string }): string[] {
  const problems: string[] = [];
  walk(obj, { kind: "object", file: declarationFile(obj.apiVersion, obj.kind) }, obj.kind, problems);
  return problems;
}
