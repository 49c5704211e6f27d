/**
 * docker compose: the file passes the compose-spec JSON schema after interpolation from
 * .env.example, and has the shape Parley needs: mongo:7 and redis:7 with healthchecks and
 * named volumes, startup ordered on health, two realtime replicas behind one nginx address
 * with WebSocket upgrade, front/back networks, and the JWT secret only from an uncommitted .env.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { composeValidator, interpolate, loadCompose, readEnvFile } from "./lib/compose.ts";
import { ROOT, composeServicesOf, nginxUpstream, read } from "./lib/repo.ts";
import { buildGoTools, runTool } from "./lib/tools.ts";

const example = readEnvFile(read(".env.example"));
const env = { ...example, JWT_SECRET: "x".repeat(48) };
const compose = loadCompose(env);
const services: Record<string, any> = compose.services;
const validate = composeValidator();

describe("schema", () => {
  test("docker-compose.yml passes the compose-spec schema", () => {
    expect(validate(compose)).toEqual([]);
  });

  test("the schema check itself rejects an unknown key and a bad duration", () => {
    const broken = structuredClone(compose);
    broken.services.api.helthcheck = {};
    broken.services.redis.healthcheck.interval = "ten seconds";
    const problems = validate(broken);
    expect(problems.some((p) => p.includes("/services/api") && p.includes("helthcheck"))).toBe(true);
    expect(problems.some((p) => p.includes("/services/redis/healthcheck/interval"))).toBe(true);
  });
});

describe("compose-go (the library inside docker compose), like `docker compose config`", () => {
  beforeAll(buildGoTools, 15 * 60_000);
  const scratch = mkdtempSync(join(tmpdir(), "parley-compose-"));
  const envFile = (vars: Record<string, string>) => {
    const f = join(scratch, `env-${Object.keys(vars).join("-") || "none"}`);
    writeFileSync(
      f,
      `${Object.entries(vars)
        .map(([k, v]) => `${k}=${v}`)
        .join("\n")}\n`,
    );
    return f;
  };

  test("loads the file: its schema, interpolation and consistency checks pass; same result as ours", () => {
    const r = runTool("compose-config", [join(ROOT, "docker-compose.yml"), envFile({ JWT_SECRET: env.JWT_SECRET })]);
    expect(r.code === 0 ? "" : r.err).toBe("");
    const project = JSON.parse(r.out);
    // services of a profile (redis-cluster) are left out unless the profile is asked for
    const byDefault = Object.keys(services).filter((n) => !services[n].profiles);
    expect(Object.keys(project.services).sort()).toEqual(byDefault.sort());
    for (const [name, s] of Object.entries<any>(project.services)) {
      // compose-go and our reader agree on every variable after interpolation
      expect({ name, env: s.environment ?? {} }).toEqual({ name, env: services[name].environment ?? {} });
      for (const [dep, d] of Object.entries<any>(s.depends_on ?? {}))
        expect(`${name} → ${dep}: ${d.condition}`).toBe(`${name} → ${dep}: service_healthy`);
    }
    expect(project.networks.back.internal).toBe(true);
    expect(project.services.lb.ports).toEqual([{ mode: "ingress", target: 8080, published: "8080", protocol: "tcp" }]);
  });

  test("refuses to start without JWT_SECRET, with the message pointing at .env.example", () => {
    const r = runTool("compose-config", [join(ROOT, "docker-compose.yml"), join(ROOT, ".env.example")]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "required variable JWT_SECRET is missing a value: set JWT_SECRET in .env — see .env.example",
    );
  });

  test("would catch a dependency on a service that does not exist (the check can fail)", () => {
    const file = join(scratch, "docker-compose.yml");
    writeFileSync(
      file,
      read("docker-compose.yml").replace(
        "      mongo:\n        condition: service_healthy",
        "      mongodb:\n        condition: service_healthy",
      ),
    );
    const r = runTool("compose-config", [file, envFile({ JWT_SECRET: env.JWT_SECRET })]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/mongodb/);
  });
});

describe("the JWT secret", () => {
  test("comes only from .env: without it compose stops with a clear message", () => {
    expect(() => loadCompose({ ...example, JWT_SECRET: "" })).toThrow(
      /JWT_SECRET.*set JWT_SECRET in \.env — see \.env\.example/,
    );
    expect(() => loadCompose({})).toThrow(/JWT_SECRET/);
    expect(services.api.environment.JWT_SECRET).toBe(env.JWT_SECRET);
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: compose's own ${VAR:?message} syntax, taken literally
  test("raw file: every JWT_SECRET is the required ${…:?} form, never a value", () => {
    const raw = read("docker-compose.yml");
    const lines = raw.split("\n").filter((l) => /^\s*JWT_SECRET:/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines)
      expect(l.trim()).toBe("JWT_SECRET: ${JWT_SECRET:?set JWT_SECRET in .env — see .env.example}");
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: the literal compose syntax ends here

  test(".env is ignored by git, .env.example is committed with no value", () => {
    expect(Bun.spawnSync(["git", "check-ignore", "-q", ".env"], { cwd: ROOT }).exitCode).toBe(0);
    expect(Bun.spawnSync(["git", "check-ignore", "-q", ".env.example"], { cwd: ROOT }).exitCode).toBe(1);
    expect(example.JWT_SECRET).toBe("");
  });

  test("interpolation follows compose's rules", () => {
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: compose's ${VAR} syntax, the input under test
    expect(interpolate("${A:-d} ${B-d} $$A ${C}", { A: "", B: "", C: "c" })).toBe("d  $A c");
    expect(() => interpolate("${A?gone}", {})).toThrow("gone");
    expect(interpolate("${A?gone}", { A: "" })).toBe("");
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: the input under test ends here
  });
});

describe("services", () => {
  test("mongo:7 and redis:7 with healthchecks and named volumes, only on the back network", () => {
    for (const [name, image, mount] of [
      ["mongo", "mongo:7", "/data/db"],
      ["redis", "redis:7", "/data"],
    ] as const) {
      const s = services[name];
      expect(s.image).toBe(image);
      expect(s.healthcheck.test[0]).toBe("CMD");
      const [volume, target] = s.volumes[0].split(":");
      expect(target).toBe(mount);
      expect(Object.keys(compose.volumes)).toContain(volume);
      expect(s.networks).toEqual(["back"]);
      expect(s.ports).toBeUndefined();
    }
    expect(compose.networks.back.internal).toBe(true);
  });

  test("every service has a healthcheck (a one-shot job excepted), and every dependency waits for health", () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.restart !== "no") expect(`${name}: ${Array.isArray(s.healthcheck?.test)}`).toBe(`${name}: true`);
      for (const [dep, cond] of Object.entries<any>(s.depends_on ?? {})) {
        expect(services[dep]).toBeDefined();
        expect(`${name} → ${dep}: ${cond.condition}`).toBe(`${name} → ${dep}: service_healthy`);
      }
    }
    expect(Object.keys(services.api.depends_on).sort()).toEqual(["mongo", "redis"]);
  });

  test("profile redis-cluster: three cluster masters with volumes on the back network, a one-shot create job; api and realtime read REDIS_CLUSTER_NODES from .env", () => {
    const nodes = Object.entries(services).filter(([n]) => /^redis-node-\d$/.test(n));
    expect(nodes.map(([n]) => n).sort()).toEqual(["redis-node-1", "redis-node-2", "redis-node-3"]);
    for (const [name, s] of [...nodes, ["redis-cluster-init", services["redis-cluster-init"]]] as [string, any][]) {
      expect(`${name}: ${s.profiles}`).toBe(`${name}: redis-cluster`);
      expect(s.image).toBe("redis:7");
      expect(s.networks).toEqual(["back"]);
    }
    for (const [name, s] of nodes) {
      expect(s.command).toContain("--cluster-enabled");
      expect(s.command[s.command.indexOf("--cluster-announce-hostname") + 1]).toBe(name);
      expect(Object.keys(compose.volumes)).toContain(s.volumes[0].split(":")[0]);
    }
    const init = services["redis-cluster-init"];
    expect(init.restart).toBe("no");
    expect(Object.keys(init.depends_on).sort()).toEqual(nodes.map(([n]) => n).sort());
    expect(init.command.join(" ")).toContain("--cluster create");
    for (const [, s] of [["api", services.api], ...composeServicesOf(compose, "parley-realtime")] as [string, any][])
      expect(s.environment.REDIS_CLUSTER_NODES).toBe(""); // .env.example leaves it commented out
    // the default stack stays on one Redis
    expect(example.COMPOSE_PROFILES).toBeUndefined();
  });

  test("at least two realtime replicas, distinct ids, each waiting for api and redis", () => {
    const replicas = composeServicesOf(compose, "parley-realtime");
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    const ids = replicas.map(([, s]) => s.environment.REPLICA_ID);
    expect(new Set(ids).size).toBe(replicas.length);
    for (const [, s] of replicas) {
      expect(Object.keys(s.depends_on).sort()).toEqual(["api", "redis"]);
      expect(s.environment.API_URL).toBe("http://api:3000");
    }
  });

  test("one address for the browser: the load balancer is the only published port", () => {
    const published = Object.entries(services).filter(([, s]) => s.ports);
    expect(published.map(([n]) => n)).toEqual(["lb"]);
    expect(services.lb.ports).toEqual(["8080:8080"]);
    expect(services.lb.networks).toEqual(["front"]);
    const deps = Object.keys(services.lb.depends_on).sort();
    expect(deps).toEqual(["api", ...composeServicesOf(compose, "parley-realtime").map(([n]) => n)].sort());
  });

  test("the load balancer balances every realtime replica, upgrades /ws, routes /api to the api", () => {
    const [mountSource, mountTarget] = services.lb.volumes[0].split(":");
    expect(mountTarget).toBe("/etc/nginx/nginx.conf");
    const conf = read(mountSource.replace(/^\.\//, ""));
    const upstream = nginxUpstream(conf, "realtime");
    expect(upstream.map((u) => u.host).sort()).toEqual(
      composeServicesOf(compose, "parley-realtime")
        .map(([n]) => n)
        .sort(),
    );
    expect(new Set(upstream.map((u) => u.port))).toEqual(new Set([8080]));
    // realtime's ops port (health, readiness, metrics) is never behind the load balancer
    expect(conf).not.toMatch(/:9090\b/);
    expect(nginxUpstream(conf, "api")).toEqual([{ host: "api", port: 3000 }]);
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(conf).toMatch(/location \/ws \{[^}]*proxy_pass http:\/\/realtime;[^}]*proxy_read_timeout 3600s;/);
    expect(conf).toMatch(/location \/api\/ \{[^}]*proxy_pass http:\/\/api;/);
    expect(conf).toMatch(/location \/ \{[^}]*proxy_pass http:\/\/realtime;/);
    // the api takes the last X-Forwarded-For entry; setting it to the peer address (one entry)
    // keeps that true however many entries the client sent
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(conf).not.toMatch(/proxy_add_x_forwarded_for/);
    // proxy_set_header inside a location would silently drop the server-level ones there
    const locations = [...conf.matchAll(/location[^{]*\{([^}]*)\}/g)].map((m) => m[1]!);
    for (const body of locations) expect(body).not.toMatch(/proxy_set_header/);
  });

  test("api and realtime: hardened, on front+back, stopped slower than the socket grace", () => {
    for (const [name, s] of [["api", services.api], ...composeServicesOf(compose, "parley-realtime")] as [
      string,
      any,
    ][]) {
      expect(s.read_only).toBe(true);
      expect(s.cap_drop).toEqual(["ALL"]);
      expect(s.security_opt).toContain("no-new-privileges:true");
      expect(s.networks.sort()).toEqual(["back", "front"]);
      if (name !== "api") {
        const graceS = Number(s.environment.SHUTDOWN_GRACE_MS) / 1000;
        expect(Number(String(s.stop_grace_period).replace(/s$/, ""))).toBeGreaterThan(graceS);
      }
    }
  });
});
