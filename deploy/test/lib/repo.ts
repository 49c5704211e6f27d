/**
 * Readers for the deployment files, shared by the offline checks: the repository root, YAML,
 * `kubectl kustomize` renders, the compose file, Dockerfiles, nginx upstreams, and the names
 * each service's config module reads from the environment.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";

export const ROOT = resolve(import.meta.dir, "../../..");
export const SERVICES = ["api", "realtime"] as const;
export type Service = (typeof SERVICES)[number];

export const read = (rel: string) => readFileSync(join(ROOT, rel), "utf8");
export const exists = (rel: string) => existsSync(join(ROOT, rel));

/** YAML with merge keys (`<<: *anchor`), as docker compose reads it. */
export function readYaml<T = any>(rel: string): T {
  return parse(read(rel), { merge: true }) as T;
}

// ---- kubectl -------------------------------------------------------------------------------

/** kubectl from PATH or the usual install places; a missing kubectl is an error, never a skip. */
export function kubectlPath(): string {
  const found = Bun.which("kubectl") ?? ["/usr/local/bin/kubectl", "/usr/bin/kubectl"].find((p) => existsSync(p));
  if (!found)
    throw new Error(
      "kubectl not found (PATH, /usr/local/bin, /usr/bin): the Kubernetes checks need `kubectl kustomize`",
    );
  return found;
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [k: string]: unknown;
};

export const OVERLAYS = readdirSync(join(ROOT, "k8s/overlays"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const DEV_SECRET_SCRIPT = "k8s/overlays/dev/ensure-jwt-secret.sh";

/** `kubectl kustomize k8s/overlays/<name>` parsed into objects (the dev key file is made first, as skaffold does). */
export function render(overlay: string): K8sObject[] {
  if (overlay.startsWith("dev")) {
    const made = Bun.spawnSync(["sh", join(ROOT, DEV_SECRET_SCRIPT)], { stderr: "pipe", stdout: "pipe" });
    if (made.exitCode !== 0) throw new Error(`${DEV_SECRET_SCRIPT} failed: ${made.stderr.toString()}`);
  }
  const r = Bun.spawnSync([kubectlPath(), "kustomize", join(ROOT, "k8s/overlays", overlay)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`kubectl kustomize k8s/overlays/${overlay} failed:\n${r.stderr.toString()}`);
  return parseAllDocuments(r.stdout.toString())
    .map((d) => {
      if (d.errors.length) throw new Error(`render of ${overlay} is not valid YAML: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export const find = (objs: K8sObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);
export const named = (objs: K8sObject[], kind: string, name: string): K8sObject => {
  const o = find(objs, kind, name);
  if (!o) throw new Error(`no ${kind}/${name} in the render`);
  return o;
};

/** A generated ConfigMap/Secret keeps its name as a prefix plus a content hash. */
export const generated = (objs: K8sObject[], kind: string, base: string) =>
  objs.find(
    (o) => o.kind === kind && (o.metadata.name === base || new RegExp(`^${base}-[a-z0-9]{10}$`).test(o.metadata.name)),
  );

// ---- service source ------------------------------------------------------------------------

/**
 * Names passed to the kit/env reader in <service>/src/config.ts, e.g. env.int("SEND_RATE_MAX", 20),
 * plus those of kit/src/config.ts when the service reads the common fields through serverConfig.
 */
export function configEnvNames(service: Service): string[] {
  const file = `${service}/src/config.ts`;
  if (!exists(file))
    throw new Error(`${file} is missing: the environment cross-check reads the variable names from it`);
  const own = read(file);
  const sources = /\bserverConfig\(/.test(own) ? [own, read("kit/src/config.ts")] : [own];
  const names = sources.flatMap((s) =>
    [...s.matchAll(/\benv\.\w+\(\s*["'`]([A-Z][A-Z0-9_]*)["'`]/g)].map((m) => m[1]!),
  );
  return [...new Set(names)];
}

/** The PORT default in config.ts: serverConfig(env, { defaultPort: 3000 }). */
export function configPortDefault(service: Service): number {
  const m = /\bdefaultPort:\s*(\d+)/.exec(read(`${service}/src/config.ts`));
  if (!m) throw new Error(`${service}/src/config.ts has no serverConfig(env, { defaultPort: <port> })`);
  return Number(m[1]);
}

/** Every .ts file under <service>/src, concatenated (for route strings). */
export function serviceSource(service: Service): string {
  const dir = join(ROOT, service, "src");
  const files = new Bun.Glob("**/*.ts").scanSync({ cwd: dir });
  return [...files].map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
}

// ---- Dockerfile ----------------------------------------------------------------------------

export type Instruction = { cmd: string; args: string; stage: number };
export type Dockerfile = {
  args: Record<string, string>;
  stages: { from: string; name?: string }[];
  instructions: Instruction[];
};

/** A small Dockerfile reader: line continuations, comments, global ARGs, stages. */
export function readDockerfile(rel: string): Dockerfile {
  const lines = read(rel)
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/);
  const df: Dockerfile = { args: {}, stages: [], instructions: [] };
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const cmd = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, " ").trim();
    if (cmd === "ARG" && df.stages.length === 0) {
      const [k, v] = args.split("=");
      df.args[k!] = v ?? "";
    }
    if (cmd === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      const from = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => df.args[a ?? b] ?? "");
      df.stages.push({ from, name: f[2] });
    }
    df.instructions.push({ cmd, args, stage: df.stages.length - 1 });
  }
  return df;
}

export const finalStage = (df: Dockerfile) => df.stages.length - 1;
export const inStage = (df: Dockerfile, stage: number, cmd: string) =>
  df.instructions.filter((i) => i.stage === stage && i.cmd === cmd).map((i) => i.args);

/** ENV names set in the final stage (both `ENV A=1 B=2` and `ENV A 1`). */
export function dockerEnvNames(df: Dockerfile): Set<string> {
  const names = new Set<string>();
  for (const a of inStage(df, finalStage(df), "ENV")) {
    if (a.includes("=")) for (const m of a.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)) names.add(m[1]!);
    else names.add(a.split(" ")[0]!);
  }
  return names;
}

// ---- skaffold / compose / nginx ------------------------------------------------------------

export const skaffoldConfig = () => readYaml("skaffold.yaml");
export const composeFile = () => readYaml("docker-compose.yml");

/** Compose services that run the given image (realtime runs as several replica services). */
export function composeServicesOf(compose: any, image: string): [string, any][] {
  return Object.entries<any>(compose.services).filter(([, s]) => s.image === image);
}

/** `server host:port` lines of one nginx upstream block. */
export function nginxUpstream(conf: string, name: string): { host: string; port: number }[] {
  const block = new RegExp(`upstream\\s+${name}\\s*\\{([^}]*)\\}`).exec(conf);
  if (!block) return [];
  return [...block[1]!.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => ({ host: m[1]!, port: Number(m[2]) }));
}
