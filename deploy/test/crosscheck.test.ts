/**
 * The deployment files agree with each other and with the services' source: every image
 * skaffold builds runs in Kubernetes and in compose; every variable a config module reads is
 * set (or its default documented) in both, and nothing is set that no config reads; probe
 * paths are routes the services serve; ports agree from config defaults to load balancers.
 */
import { describe, expect, test } from "bun:test";
import { loadCompose, readEnvFile } from "./lib/compose.ts";
import {
  OVERLAYS,
  SERVICES,
  composeServicesOf,
  configEnvNames,
  configPortDefault,
  dockerEnvNames,
  generated,
  named,
  nginxUpstream,
  read,
  readDockerfile,
  render,
  serviceSource,
  skaffoldConfig,
  type K8sObject,
  type Service,
} from "./lib/repo.ts";

const compose = loadCompose({ ...readEnvFile(read(".env.example")), JWT_SECRET: "x".repeat(48) });
const renders: Record<string, K8sObject[]> = Object.fromEntries(OVERLAYS.map((o) => [o, render(o)]));
const skaffold = skaffoldConfig();
const imageOf = (svc: Service) => `parley-${svc}`;

/** The env names a container gets: env entries + keys of envFrom ConfigMaps in the render. */
function k8sEnv(objs: K8sObject[], svc: Service): Map<string, string | undefined> {
  const c = named(objs, "Deployment", svc).spec.template.spec.containers[0];
  const out = new Map<string, string | undefined>();
  for (const from of c.envFrom ?? []) {
    expect(from.configMapRef).toBeDefined(); // secretRef envFrom would hide which keys exist
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === from.configMapRef.name);
    expect(cm ? cm.metadata.name : `missing ConfigMap ${from.configMapRef.name}`).toBe(from.configMapRef.name);
    for (const [k, v] of Object.entries(cm!.data ?? {})) out.set(k, v);
  }
  for (const e of c.env ?? []) out.set(e.name, e.value);
  return out;
}

/**
 * Variables with a safe default that a deployment may leave unset, if deploy/README.md
 * documents it: a row naming `NAME` in a table with a "default" column that is filled in.
 */
/** The rows of the README's "Configuration of the services" table: the variables named, and for which service. */
function readmeConfigRows(): { names: string[]; service: string }[] {
  const text = read("README.md");
  const lines = text.slice(text.indexOf("## Configuration of the services")).split("\n").slice(1);
  const end = lines.findIndex((l) => l.startsWith("## "));
  return lines
    .slice(0, end < 0 ? undefined : end)
    .filter((l) => l.startsWith("| `"))
    .map((l) => {
      const [names = "", service = ""] = l.split("|").slice(1, 3);
      return { names: [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!), service: service.trim() };
    });
}

function documentedDefault(name: string): boolean {
  const cells = (l: string) =>
    l
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((c) => c.trim());
  let column = -1;
  for (const line of read("deploy/README.md").split("\n")) {
    if (!line.startsWith("|")) {
      column = -1;
      continue;
    }
    if (column < 0) {
      column = cells(line).findIndex((c) => /^default/i.test(c));
      continue;
    }
    const row = cells(line);
    if (row.some((c) => c.includes(`\`${name}\``)) && row[column] && !/^[-—–]*$/.test(row[column]!)) return true;
  }
  return false;
}

describe("images", () => {
  const artifactSets = [
    skaffold.build.artifacts,
    ...skaffold.profiles.filter((p: any) => p.build).map((p: any) => p.build.artifacts),
  ];

  test("skaffold builds exactly the two service images, from the repo root, with their Dockerfiles", () => {
    for (const artifacts of artifactSets)
      expect(artifacts).toEqual(
        SERVICES.map((s) => ({ image: imageOf(s), context: ".", docker: { dockerfile: `${s}/Dockerfile` } })),
      );
  });

  test.each(SERVICES)(
    "%s: the image skaffold builds runs in every overlay and in compose, built the same way",
    (svc) => {
      for (const overlay of OVERLAYS) {
        const images = renders[overlay]!.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet").flatMap(
          (o) => o.spec.template.spec.containers.map((c: any) => c.image as string),
        );
        const names = images.map((i) => i.split(":")[0]!);
        expect(names).toContain(imageOf(svc));
        // Parley's own images are the ones skaffold builds; third-party ones carry a tag (mongo:7)
        for (const [i, image] of images.entries()) {
          if (names[i]!.startsWith("parley-")) expect(SERVICES.map(imageOf)).toContain(names[i]!);
          else expect(image).toMatch(/^[\w./-]+:[\w.-]+$/);
        }
      }
      const users = composeServicesOf(compose, imageOf(svc));
      expect(users.length).toBeGreaterThanOrEqual(1);
      for (const [, s] of users) expect(s.build).toEqual({ context: ".", dockerfile: `${svc}/Dockerfile` });
    },
  );
});

describe.each(SERVICES)("%s environment", (svc) => {
  const names = configEnvNames(svc);
  const imageEnv = dockerEnvNames(readDockerfile(`${svc}/Dockerfile`));

  test("config.ts reads the variables the common ground names", () => {
    const core =
      svc === "api"
        ? ["PORT", "HOST", "MONGO_URL", "REDIS_URL", "JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE", "LOG_LEVEL"]
        : [
            "PORT",
            "HOST",
            "API_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "JWT_ISSUER",
            "JWT_AUDIENCE",
            "STATIC_DIR",
            "REPLICA_ID",
            "SHUTDOWN_GRACE_MS",
            "LOG_LEVEL",
          ];
    for (const n of core) expect(names).toContain(n);
  });

  test("the README's configuration table lists every variable config.ts reads, for this service", () => {
    const listed = readmeConfigRows()
      .filter((r) => r.service === svc || r.service === "both")
      .flatMap((r) => r.names);
    const missing = names.filter((n) => !listed.includes(n));
    expect(`README lacks: ${missing.join(", ")}`).toBe("README lacks: ");
  });

  test("compose sets every variable it reads (or the default is documented), and nothing else", () => {
    for (const [name, s] of composeServicesOf(compose, imageOf(svc))) {
      const set = new Set([...Object.keys(s.environment), ...imageEnv]);
      const missing = names.filter((n) => !set.has(n) && !documentedDefault(n));
      expect(`${name} lacks: ${missing.join(", ")}`).toBe(`${name} lacks: `);
      const unknown = Object.keys(s.environment).filter((n) => !names.includes(n));
      expect(`${name} sets unread: ${unknown.join(", ")}`).toBe(`${name} sets unread: `);
    }
  });

  test.each(OVERLAYS)(
    "k8s overlay %s sets every variable it reads (or the default is documented), and nothing else",
    (overlay) => {
      const env = k8sEnv(renders[overlay]!, svc);
      const set = new Set([...env.keys(), ...imageEnv]);
      const missing = names.filter((n) => !set.has(n) && !documentedDefault(n));
      expect(`lacks: ${missing.join(", ")}`).toBe("lacks: ");
      const unknown = [...env.keys()].filter((n) => !names.includes(n));
      expect(`sets unread: ${unknown.join(", ")}`).toBe("sets unread: ");
    },
  );

  test("the JWT issuer and audience agree between compose, k8s and the other service", () => {
    for (const overlay of OVERLAYS) {
      const env = k8sEnv(renders[overlay]!, svc);
      const other = k8sEnv(renders[overlay]!, svc === "api" ? "realtime" : "api");
      expect([env.get("JWT_ISSUER"), env.get("JWT_AUDIENCE")]).toEqual([
        other.get("JWT_ISSUER"),
        other.get("JWT_AUDIENCE"),
      ]);
    }
    const [api] = composeServicesOf(compose, "parley-api");
    for (const [, s] of composeServicesOf(compose, imageOf(svc)))
      expect([s.environment.JWT_ISSUER, s.environment.JWT_AUDIENCE]).toEqual([
        api![1].environment.JWT_ISSUER,
        api![1].environment.JWT_AUDIENCE,
      ]);
  });
});

describe.each(SERVICES)("%s probes and ports", (svc) => {
  const port = configPortDefault(svc);
  const source = serviceSource(svc);

  test("the service serves GET /healthz and GET /readyz (routes in its source)", () => {
    expect(source).toMatch(/\.get\(\s*["'`]\/healthz["'`]/);
    expect(source).toMatch(/["'`]\/readyz["'`]/);
    expect(source).toMatch(/\.get\(\s*\n?\s*["'`]\/readyz["'`]/);
  });

  test("config default, image, compose, k8s and load balancer agree on the port", () => {
    for (const overlay of OVERLAYS) {
      const objs = renders[overlay]!;
      const c = named(objs, "Deployment", svc).spec.template.spec.containers[0];
      expect(c.ports[0].containerPort).toBe(port);
      expect(k8sEnv(objs, svc).get("PORT")).toBe(String(port));
      expect(named(objs, "Service", svc).spec.ports[0].port).toBe(port);
    }
    const nginx = read("deploy/compose/nginx.conf");
    for (const [name, s] of composeServicesOf(compose, imageOf(svc))) {
      expect(s.environment.PORT).toBe(String(port));
      expect(s.healthcheck.test.join(" ")).toContain(`http://127.0.0.1:${port}/healthz`);
      if (svc === "realtime") expect(nginxUpstream(nginx, "realtime")).toContainEqual({ host: name, port });
    }
    if (svc === "api") expect(nginxUpstream(nginx, "api")).toEqual([{ host: "api", port }]);
  });
});

test("realtime finds the api where it is: API_URL names the api Service/compose service and port", () => {
  const apiPort = configPortDefault("api");
  for (const overlay of OVERLAYS) {
    const url = new URL(k8sEnv(renders[overlay]!, "realtime").get("API_URL")!);
    expect(named(renders[overlay]!, "Service", url.hostname).spec.ports[0].port).toBe(Number(url.port));
    expect(Number(url.port)).toBe(apiPort);
  }
  for (const [, s] of composeServicesOf(compose, "parley-realtime")) {
    const url = new URL(s.environment.API_URL);
    expect(compose.services[url.hostname].image).toBe("parley-api");
    expect(Number(url.port)).toBe(apiPort);
  }
});

test("SHUTDOWN_GRACE_MS in k8s fits the realtime pod's termination grace period", () => {
  for (const overlay of OVERLAYS) {
    const objs = renders[overlay]!;
    const grace = Number(generated(objs, "ConfigMap", "realtime-config")!.data!.SHUTDOWN_GRACE_MS);
    expect(grace).toBeGreaterThanOrEqual(1000);
    expect(
      named(objs, "Deployment", "realtime").spec.template.spec.terminationGracePeriodSeconds * 1000,
    ).toBeGreaterThan(grace);
  }
});
