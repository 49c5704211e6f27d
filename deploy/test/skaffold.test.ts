/**
 * skaffold.yaml, checked by Skaffold itself (built from the Go module proxy by
 * deploy/scripts/install-skaffold.sh on first use): `diagnose` parses it strictly, and an
 * offline `render` of each profile — with a stand-in build result instead of Docker — must
 * produce the same objects as `kubectl kustomize` of its overlay, with both built images
 * substituted. No cluster, no Docker.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { ROOT, SERVICES, named, read, render, type K8sObject } from "./lib/repo.ts";

const SKAFFOLD = join(ROOT, ".tools/bin/skaffold");
const scratch = mkdtempSync(join(tmpdir(), "parley-skaffold-"));
const BUILT_TAG = "deploytest123";

function skaffold(args: string[]) {
  const r = Bun.spawnSync([SKAFFOLD, ...args, "--interactive=false", "--update-check=false"], {
    cwd: ROOT,
    // a scratch HOME: no global skaffold config or metrics written to the user's home, and no
    // kube context consulted (everything here is offline)
    env: { ...process.env, HOME: scratch, KUBECONFIG: join(scratch, "no-kubeconfig") },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

beforeAll(() => {
  // no-op when the pinned version is already built; otherwise a few minutes of `go build`
  const r = Bun.spawnSync(["sh", join(ROOT, "deploy/scripts/install-skaffold.sh")], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`could not build skaffold:\n${r.stderr.toString()}`);
}, 25 * 60_000);

const PROFILES = [
  { name: "(none)", flag: [], overlay: "dev", namespace: "parley-dev" },
  { name: "dev", flag: ["-p", "dev"], overlay: "dev", namespace: "parley-dev" },
  { name: "prod", flag: ["-p", "prod"], overlay: "prod", namespace: "parley" },
] as const;

test("skaffold.yaml uses a skaffold/v4beta apiVersion this Skaffold supports", () => {
  const apiVersion = parse(read("skaffold.yaml")).apiVersion;
  expect(apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
  const list = skaffold(["schema", "list"]);
  expect(list.code).toBe(0);
  expect(list.out.split("\n")).toContain(apiVersion);
});

test("Skaffold's strict parser would catch a typo (the check can fail)", () => {
  const broken = join(scratch, "skaffold-typo.yaml");
  writeFileSync(broken, read("skaffold.yaml").replace("useBuildkit:", "useBuildKit:"));
  const r = skaffold(["diagnose", "--yaml-only", "-f", broken]);
  expect(r.code).not.toBe(0);
  expect(r.err).toContain("field useBuildKit not found");
});

describe.each(PROFILES)("skaffold profile $name", ({ flag, overlay, namespace }) => {
  test("diagnose: parses, builds both images from the repo root, renders the overlay, forwards realtime", () => {
    const r = skaffold(["diagnose", "--yaml-only", ...flag]);
    expect(r.code === 0 ? "" : r.err).toBe("");
    const config = parse(r.out);
    expect(config.build.artifacts.map((a: any) => [a.image, a.context, a.docker.dockerfile])).toEqual(
      SERVICES.map((s) => [`parley-${s}`, ROOT, `${s}/Dockerfile`]),
    );
    expect(config.manifests.kustomize.paths).toEqual([join(ROOT, "k8s/overlays", overlay)]);
    // prod has no use for the dev key
    expect(Boolean(config.manifests.hooks)).toBe(overlay === "dev");
    const objs = render(overlay);
    const port = named(objs, "Service", "realtime").spec.ports[0].port;
    expect(config.portForward.length).toBe(1);
    expect(config.portForward[0]).toMatchObject({
      resourceType: "service",
      resourceName: "realtime",
      namespace,
      port,
      localPort: 8080,
    });
  });

  test("render --offline: the overlay's objects, with both built images substituted", () => {
    const builds = join(scratch, "builds.json");
    writeFileSync(
      builds,
      JSON.stringify({ builds: SERVICES.map((s) => ({ imageName: `parley-${s}`, tag: `parley-${s}:${BUILT_TAG}` })) }),
    );
    const r = skaffold(["render", "--offline", "--digest-source=tag", "-a", builds, ...flag]);
    expect(r.code === 0 ? "" : r.err).toBe("");
    const objs = parseAllDocuments(r.out)
      .map((d) => d.toJS() as K8sObject)
      .filter(Boolean);
    const ids = (list: K8sObject[]) => list.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids(objs)).toEqual(ids(render(overlay)));
    const images = objs
      .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
      .flatMap((o) => o.spec.template.spec.containers.map((c: any) => c.image as string));
    for (const s of SERVICES) expect(images).toContain(`parley-${s}:${BUILT_TAG}`);
    expect(images.filter((i) => i.startsWith("parley-") && !i.endsWith(`:${BUILT_TAG}`))).toEqual([]);
  });
});
