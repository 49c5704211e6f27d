/**
 * Typed, validated configuration from environment variables. Every problem is collected and
 * reported at once, naming the variable, so a bad deployment fails at start with one clear
 * message instead of misbehaving later. Secret values are never echoed back.
 */
type Source = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

export function envReader(source: Source = process.env) {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const v = source[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };

  const reader = {
    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },
    optionalString(name: string): string | undefined {
      return raw(name);
    },
    /** A secret: required, at least `minLength` characters; its value never appears in messages. */
    secret(name: string, minLength: number): string {
      const v = raw(name);
      if (v === undefined) problems.push(`${name} is required (a random string of at least ${minLength} characters)`);
      else if (v.length < minLength)
        problems.push(`${name} must be at least ${minLength} characters long (it has ${v.length})`);
      return v ?? "";
    },
    int(name: string, fallback: number, { min = -Infinity, max = Infinity } = {}): number {
      const v = raw(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        problems.push(`${name} must be an integer between ${min} and ${max}, got "${v}"`);
        return fallback;
      }
      return n;
    },
    port(name: string, fallback: number): number {
      return reader.int(name, fallback, { min: 0, max: 65535 });
    },
    bool(name: string, fallback: boolean): boolean {
      const v = raw(name)?.toLowerCase();
      if (v === undefined) return fallback;
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      problems.push(`${name} must be true or false, got "${v}"`);
      return fallback;
    },
    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const v = raw(name);
      if (v === undefined) return fallback;
      if (!(allowed as readonly string[]).includes(v)) {
        problems.push(`${name} must be one of ${allowed.join(", ")}, got "${v}"`);
        return fallback;
      }
      return v as T;
    },
    /** A URL whose scheme is one of `protocols` (e.g. ["redis:", "rediss:"]). Credentials are not echoed. */
    url(name: string, fallback: string, protocols: string[]): string {
      const v = raw(name) ?? fallback;
      try {
        const u = new URL(v);
        if (!protocols.includes(u.protocol))
          problems.push(`${name} must start with ${protocols.map((p) => `${p}//`).join(" or ")}`);
      } catch {
        problems.push(`${name} is not a valid URL`);
      }
      return v;
    },
    /** A comma-separated list of `host:port` (e.g. Redis Cluster seed nodes); empty when unset. */
    hostPorts(name: string): { host: string; port: number }[] {
      const entries = reader.list(name, []);
      const nodes: { host: string; port: number }[] = [];
      for (const entry of entries) {
        const m = entry.match(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/);
        const port = Number(m?.[2]);
        if (!m || port < 1 || port > 65535) {
          problems.push(
            `${name} must be a comma-separated list of host:port (e.g. redis-0:6379,redis-1:6379), got "${entry}"`,
          );
          continue;
        }
        nodes.push({ host: m[1]!.replace(/^\[|\]$/g, ""), port });
      }
      return nodes;
    },
    list(name: string, fallback: string[]): string[] {
      const v = raw(name);
      if (v === undefined) return fallback;
      return v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    },
    /** Throws one ConfigError listing every problem found so far. */
    done(): void {
      if (problems.length > 0) throw new ConfigError(problems);
    },
  };
  return reader;
}

export type EnvReader = ReturnType<typeof envReader>;

/** For entry points: print a config error plainly and exit 1 (no stack trace for a user mistake). */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
