/**
 * Kubernetes: every overlay renders with `kubectl kustomize`, every object passes the API
 * schema (kubernetes-models) with no unknown field, and the render has the shape Parley needs:
 * probes, limits, the strict securityContext, graceful socket draining, HPAs, PDBs, the
 * Ingress routes, NetworkPolicies that allow exactly the intended paths, and no committed secret.
 */
import { describe, expect, test } from "bun:test";
import { unknownFields } from "./lib/k8s-fields.ts";
import { allowed, type Endpoint } from "./lib/netpol.ts";
import { OVERLAYS, ROOT, find, generated, named, render, type K8sObject } from "./lib/repo.ts";

const renders = new Map<string, K8sObject[]>();
const rendered = (overlay: string) => {
  if (!renders.has(overlay)) renders.set(overlay, render(overlay));
  return renders.get(overlay)!;
};

async function schemaProblems(obj: K8sObject): Promise<string[]> {
  let mod: Record<string, any>;
  try {
    mod = await import(`kubernetes-models/${obj.apiVersion}`);
  } catch {
    return [`${obj.apiVersion} ${obj.kind}/${obj.metadata?.name}: unknown apiVersion`];
  }
  const Model = mod[obj.kind];
  if (typeof Model !== "function") return [`${obj.apiVersion} ${obj.kind}/${obj.metadata?.name}: unknown kind`];
  // kustomize folds long base64 values over several lines; the API server's decoder (Go's
  // encoding/base64) skips newlines, the schema's "byte" format does not: compare unfolded.
  const unfolded =
    obj.kind === "Secret" && obj.data
      ? { ...obj, data: Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, v.replace(/\n/g, "")])) }
      : obj;
  try {
    new Model(unfolded).validate();
  } catch (e) {
    return [`${obj.kind}/${obj.metadata.name}: ${e instanceof Error ? e.message : String(e)}`];
  }
  return unknownFields(obj).map((p) => `${obj.kind}/${obj.metadata.name}: ${p}`);
}

const workloads = (objs: K8sObject[]) => objs.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
const podOf = (w: K8sObject) => w.spec.template.spec;
const containerPorts = (c: any): Record<string, number> =>
  Object.fromEntries((c.ports ?? []).map((p: any) => [p.name, p.containerPort]));

test("the overlays are dev, dev with a Redis Cluster, and prod", () => {
  expect(OVERLAYS).toEqual(["dev", "dev-redis-cluster", "prod"]);
});

test("the schema check itself rejects a typo, a wrong type and an unknown kind", async () => {
  const ok: K8sObject = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "x" } };
  expect(await schemaProblems(ok)).toEqual([]);
  const typo = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: { selector: {}, template: { spec: { containers: [{ name: "a", image: "b", readinesProbe: {} }] } } },
  } as K8sObject;
  expect(await schemaProblems(typo)).toEqual([
    "Deployment/x: Deployment.spec.template.spec.containers[0].readinesProbe: unknown field",
  ]);
  const wrongType = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "x" },
    spec: { ports: [{ port: "eighty" }] },
  } as K8sObject;
  expect((await schemaProblems(wrongType)).length).toBeGreaterThan(0);
  expect(await schemaProblems({ apiVersion: "v1", kind: "Gadget", metadata: { name: "x" } })).toEqual([
    "v1 Gadget/x: unknown kind",
  ]);
});

describe.each(OVERLAYS)("overlay %s", (overlay) => {
  test("renders, and every object passes the Kubernetes API schema with no unknown field", async () => {
    const objs = rendered(overlay);
    expect(objs.length).toBeGreaterThan(10);
    const problems = (await Promise.all(objs.map(schemaProblems))).flat();
    expect(problems).toEqual([]);
  });

  test("every namespaced object is in the overlay's namespace", () => {
    const objs = rendered(overlay);
    const ns = named(objs, "Namespace", overlay === "prod" ? "parley" : "parley-dev").metadata.name;
    for (const o of objs.filter((o) => o.kind !== "Namespace"))
      expect(`${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`).toBe(`${o.kind}/${o.metadata.name} in ${ns}`);
  });

  test("api and realtime: Deployment + Service + ServiceAccount, probes on the real endpoints and named ports", () => {
    const objs = rendered(overlay);
    for (const [svc, port] of [
      ["api", 3000],
      ["realtime", 8080],
    ] as const) {
      const d = named(objs, "Deployment", svc);
      const pod = podOf(d);
      expect(pod.serviceAccountName).toBe(svc);
      expect(find(objs, "ServiceAccount", svc)).toBeDefined();
      const c = pod.containers.find((c: any) => c.name === svc);
      // the name skaffold builds; a dev overlay may pin a tag for images loaded by hand
      expect(c.image.split(":")[0]).toBe(`parley-${svc}`);
      // realtime answers probes and metrics on a port of its own that nothing outside reaches
      const probes = svc === "realtime" ? "ops" : "http";
      expect(containerPorts(c)).toEqual(svc === "realtime" ? { http: port, ops: 9090 } : { http: port });
      expect(c.env.find((e: any) => e.name === "PORT")?.value).toBe(String(port));
      if (svc === "realtime") expect(c.env.find((e: any) => e.name === "OPS_PORT")?.value).toBe("9090");
      expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: probes });
      expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: probes });
      const s = named(objs, "Service", svc);
      expect(s.spec.selector).toEqual(d.spec.selector.matchLabels);
      expect(Object.entries(s.spec.selector).every(([k, v]) => pod && d.spec.template.metadata.labels[k] === v)).toBe(
        true,
      );
      expect(s.spec.ports).toEqual([{ name: "http", port, targetPort: "http" }]);
    }
  });

  test("every workload container: requests and limits, strict securityContext, read-only root with an emptyDir at /tmp", () => {
    const objs = rendered(overlay);
    expect(workloads(objs).length).toBeGreaterThanOrEqual(2);
    for (const w of workloads(objs)) {
      const pod = podOf(w);
      const where = `${w.kind}/${w.metadata.name}`;
      expect({ where, ...pod.securityContext }).toMatchObject({
        where,
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect({ where, ...c.securityContext }).toEqual({
          where,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        for (const kind of ["requests", "limits"])
          expect(Object.keys(c.resources[kind]).sort()).toEqual(["cpu", "memory"]);
        expect(c.livenessProbe).toBeDefined();
        expect(c.readinessProbe).toBeDefined();
        const tmp = c.volumeMounts.find((m: any) => m.mountPath === "/tmp");
        expect(pod.volumes.find((v: any) => v.name === tmp?.name)?.emptyDir).toBeDefined();
      }
    }
  });

  test("sockets drain: preStop sleep, and the grace period covers it plus SHUTDOWN_GRACE_MS", () => {
    const objs = rendered(overlay);
    const config = generated(objs, "ConfigMap", "realtime-config")!;
    const graceMs = Number(config.data!.SHUTDOWN_GRACE_MS ?? 10_000);
    for (const svc of ["api", "realtime"]) {
      const pod = podOf(named(objs, "Deployment", svc));
      const cmd: string[] = pod.containers[0].lifecycle.preStop.exec.command;
      expect(cmd[0]).toBe("sleep");
      const sleep = Number(cmd[1]);
      expect(sleep).toBeGreaterThanOrEqual(3);
      const needed = sleep + (svc === "realtime" ? graceMs / 1000 : 5) + 5;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(needed);
    }
  });

  test("HPAs (autoscaling/v2) own the replica count; PDBs leave room to drain a node", () => {
    const objs = rendered(overlay);
    for (const svc of ["api", "realtime"]) {
      const d = named(objs, "Deployment", svc);
      const hpa = named(objs, "HorizontalPodAutoscaler", svc);
      expect(hpa.apiVersion).toBe("autoscaling/v2");
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: svc });
      expect(d.spec.replicas).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
      const pdb = named(objs, "PodDisruptionBudget", svc);
      expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
    }
  });

  test("Ingress: /api → api, / and /ws → realtime, WebSocket timeouts", () => {
    const objs = rendered(overlay);
    const ing = objs.filter((o) => o.kind === "Ingress");
    expect(ing.length).toBe(1);
    const { annotations } = ing[0]!.metadata;
    expect(annotations?.["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("3600");
    expect(annotations?.["nginx.ingress.kubernetes.io/proxy-send-timeout"]).toBe("3600");
    expect(ing[0]!.spec.ingressClassName).toBe("nginx");
    const routes = Object.fromEntries(
      ing[0]!.spec.rules.flatMap((r: any) => r.http.paths.map((p: any) => [p.path, p.backend.service])),
    );
    expect(routes).toEqual({
      "/api": { name: "api", port: { name: "http" } },
      "/ws": { name: "realtime", port: { name: "http" } },
      "/": { name: "realtime", port: { name: "http" } },
    });
    for (const svc of Object.values<any>(routes))
      expect(named(objs, "Service", svc.name).spec.ports.map((p: any) => p.name)).toContain(svc.port.name);
  });

  test("NetworkPolicies: default deny, and exactly the intended paths are open", () => {
    const objs = rendered(overlay);
    const ns = named(objs, "Deployment", "api").metadata.namespace!;
    const pod = (name: string): Endpoint => {
      const w = objs.find((o) => (o.kind === "Deployment" || o.kind === "StatefulSet") && o.metadata.name === name)!;
      return { namespace: ns, labels: w.spec.template.metadata.labels, ports: containerPorts(podOf(w).containers[0]) };
    };
    const ingressController: Endpoint = {
      namespace: "ingress-nginx",
      labels: { "app.kubernetes.io/name": "ingress-nginx" },
    };
    const dns: Endpoint = { namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
    const stranger: Endpoint = { namespace: ns, labels: { app: "something-else" } };
    const otherNs: Endpoint = { namespace: "elsewhere", labels: { "app.kubernetes.io/name": "realtime" } };
    const api = pod("api"),
      realtime = pod("realtime");
    const inCluster = overlay.startsWith("dev");
    const mongo: Endpoint = inCluster ? pod("mongo") : { ip: "203.0.113.10" };
    const redis: Endpoint = inCluster ? pod("redis") : { ip: "203.0.113.11" };

    expect(
      objs.some(
        (o) =>
          o.kind === "NetworkPolicy" &&
          Object.keys(o.spec.podSelector).length === 0 &&
          !o.spec.ingress &&
          !o.spec.egress &&
          o.spec.policyTypes.join() === "Ingress,Egress",
      ),
    ).toBe(true);
    const open: [string, Endpoint, Endpoint, number][] = [
      ["ingress controller → realtime", ingressController, realtime, 8080],
      ["ingress controller → api", ingressController, api, 3000],
      ["realtime → api", realtime, api, 3000],
      ["realtime → redis", realtime, redis, 6379],
      ["api → mongo", api, mongo, 27017],
      ["api → redis", api, redis, 6379],
    ];
    const closed: [string, Endpoint, Endpoint, number][] = [
      ["realtime → mongo", realtime, mongo, 27017],
      ["api → realtime", api, realtime, 8080],
      ["another pod → api", stranger, api, 3000],
      ["another namespace → realtime", otherNs, realtime, 8080],
      ["ingress controller → realtime's ops port (metrics, readiness)", ingressController, realtime, 9090],
      ["another pod → realtime's ops port", stranger, realtime, 9090],
      ["ingress controller → api on another port", ingressController, api, 9229],
      ["api → the internet on 443", api, { ip: "198.51.100.7" }, 443],
      ["realtime → the internet on 443", realtime, { ip: "198.51.100.7" }, 443],
    ];
    if (inCluster)
      closed.push(
        ["ingress controller → mongo", ingressController, mongo, 27017],
        ["another pod → redis", stranger, redis, 6379],
      );
    const verdict = (rows: typeof open) => rows.map(([what, a, b, port]) => `${what}: ${allowed(objs, a, b, port)}`);
    expect(verdict(open)).toEqual(open.map(([w]) => `${w}: true`));
    expect(verdict(closed)).toEqual(closed.map(([w]) => `${w}: false`));
    for (const p of [api, realtime, ...(inCluster ? [mongo, redis] : [])]) {
      expect(allowed(objs, p, dns, 53, "UDP")).toBe(true);
      expect(allowed(objs, p, dns, 53, "TCP")).toBe(true);
    }
  });

  test("the JWT secret is a Secret reference, and no secret value is committed", async () => {
    const objs = rendered(overlay);
    for (const svc of ["api", "realtime"]) {
      const env = podOf(named(objs, "Deployment", svc)).containers[0].env;
      const jwt = env.find((e: any) => e.name === "JWT_SECRET");
      expect(jwt.value).toBeUndefined();
      expect(jwt.valueFrom.secretKeyRef.key).toBe("JWT_SECRET");
      expect(jwt.valueFrom.secretKeyRef.name).toMatch(/^parley-jwt(-[a-z0-9]{10})?$/);
    }
    const secret = generated(objs, "Secret", "parley-jwt");
    if (overlay === "prod") {
      // the operator creates parley-jwt and parley-datastores; nothing of them is in git
      expect(secret).toBeUndefined();
      expect(generated(objs, "Secret", "parley-datastores")).toBeUndefined();
    } else {
      const value = Buffer.from(secret!.data!.JWT_SECRET!, "base64").toString();
      expect(value.length).toBeGreaterThanOrEqual(32);
      const tracked = Bun.spawnSync(["git", "ls-files", "k8s"], { cwd: ROOT, stdout: "pipe" }).stdout.toString();
      expect(tracked).not.toContain("jwt-secret.txt");
      const ignored = Bun.spawnSync(["git", "check-ignore", "-q", "k8s/overlays/dev/jwt-secret.txt"], { cwd: ROOT });
      expect(ignored.exitCode).toBe(0);
      const grep = Bun.spawnSync(["git", "grep", "-l", "-F", value], { cwd: ROOT, stdout: "pipe" });
      expect(grep.stdout.toString()).toBe("");
    }
  });
});

test("dev runs MongoDB and Redis in the cluster: StatefulSets, headless Services, volume claims", () => {
  const objs = rendered("dev");
  const urls = generated(objs, "Secret", "parley-datastores")!.data!;
  for (const [name, image, port, key] of [
    ["mongo", "mongo:7", 27017, "MONGO_URL"],
    ["redis", "redis:7", 6379, "REDIS_URL"],
  ] as const) {
    const sts = named(objs, "StatefulSet", name);
    const svc = named(objs, "Service", name);
    expect(svc.spec.clusterIP).toBe("None");
    expect(sts.spec.serviceName).toBe(name);
    expect(svc.spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(podOf(sts).containers[0].image).toBe(image);
    expect(sts.spec.volumeClaimTemplates.length).toBe(1);
    const claim = sts.spec.volumeClaimTemplates[0].metadata.name;
    expect(podOf(sts).containers[0].volumeMounts.map((m: any) => m.name)).toContain(claim);
    const url = new URL(Buffer.from(urls[key]!, "base64").toString());
    expect([url.hostname, Number(url.port)]).toEqual([name, port]);
    expect(svc.spec.ports[0].port).toBe(port);
  }
});

test("prod: external datastores, more replicas than dev", () => {
  const prod = rendered("prod"),
    dev = rendered("dev");
  expect(prod.filter((o) => o.kind === "StatefulSet")).toEqual([]);
  for (const svc of ["api", "realtime"]) {
    const env = podOf(named(prod, "Deployment", svc)).containers[0].env;
    expect(env.find((e: any) => e.name === "REDIS_URL").valueFrom.secretKeyRef.name).toBe("parley-datastores");
    expect(named(prod, "HorizontalPodAutoscaler", svc).spec.minReplicas).toBeGreaterThan(
      named(dev, "HorizontalPodAutoscaler", svc).spec.minReplicas,
    );
  }
  expect(
    podOf(named(prod, "Deployment", "api")).containers[0].env.find((e: any) => e.name === "MONGO_URL").valueFrom
      .secretKeyRef.name,
  ).toBe("parley-datastores");
});

test("dev-redis-cluster: three masters with stable names, a create Job, REDIS_CLUSTER_NODES naming them, and only the intended paths", () => {
  const objs = rendered("dev-redis-cluster");
  const sts = named(objs, "StatefulSet", "redis-cluster");
  const svc = named(objs, "Service", "redis-cluster");
  expect(sts.spec.replicas).toBe(3);
  expect(svc.spec.clusterIP).toBe("None");
  expect(svc.spec.publishNotReadyAddresses).toBe(true);
  expect(sts.spec.serviceName).toBe("redis-cluster");
  const args: string[] = podOf(sts).containers[0].args;
  for (const flag of ["--cluster-enabled", "--cluster-require-full-coverage", "--cluster-announce-hostname"])
    expect(args).toContain(flag);
  expect(args[args.indexOf("--cluster-announce-hostname") + 1]).toBe("$(POD_NAME).redis-cluster");
  expect(named(objs, "Job", "redis-cluster-create").spec.template.spec.containers[0].command.join(" ")).toContain(
    "--cluster create",
  );
  for (const name of ["api", "realtime"]) {
    const env = podOf(named(objs, "Deployment", name)).containers[0].env;
    const nodes = env.find((e: any) => e.name === "REDIS_CLUSTER_NODES").value as string;
    expect(nodes.split(",")).toEqual([0, 1, 2].map((i) => `redis-cluster-${i}.redis-cluster:6379`));
  }
  const ns = sts.metadata.namespace!;
  const pod = (name: string): Endpoint => {
    const w = objs.find((o) => (o.kind === "Deployment" || o.kind === "StatefulSet") && o.metadata.name === name)!;
    return { namespace: ns, labels: w.spec.template.metadata.labels, ports: containerPorts(podOf(w).containers[0]) };
  };
  const job: Endpoint = { namespace: ns, labels: { "app.kubernetes.io/name": "redis-cluster-create" } };
  const stranger: Endpoint = { namespace: ns, labels: { app: "something-else" } };
  const [api, realtime, master] = [pod("api"), pod("realtime"), pod("redis-cluster")];
  expect(allowed(objs, api, master, 6379)).toBe(true);
  expect(allowed(objs, realtime, master, 6379)).toBe(true);
  expect(allowed(objs, job, master, 6379)).toBe(true);
  expect(allowed(objs, master, master, 16379)).toBe(true);
  expect(allowed(objs, master, master, 6379)).toBe(true);
  expect(allowed(objs, stranger, master, 6379)).toBe(false);
  expect(allowed(objs, api, master, 16379)).toBe(false);
});
