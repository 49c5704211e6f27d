/**
 * A small NetworkPolicy evaluator (the semantics of networking.k8s.io/v1), enough to ask
 * "may this pod open a TCP/UDP connection to that one on this port?" of a rendered overlay.
 * Supports matchLabels selectors, namespaceSelector, ipBlock (IPv4, with except) and numbered
 * or named ports; anything else throws, so a policy this cannot judge fails the test.
 */
import type { K8sObject } from "./repo.ts";

export type PodEndpoint = {
  namespace: string;
  labels: Record<string, string>;
  ports?: Record<string, number>;
  nsLabels?: Record<string, string>;
};
export type Endpoint = PodEndpoint | { ip: string };

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
type Peer = { podSelector?: Selector; namespaceSelector?: Selector; ipBlock?: { cidr: string; except?: string[] } };
type PortRule = { protocol?: string; port?: number | string; endPort?: number };
type Rule = { from?: Peer[]; to?: Peer[]; ports?: PortRule[] };

function matches(sel: Selector | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  if (sel.matchExpressions?.length) throw new Error("matchExpressions are not supported by this evaluator");
  return Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

const ipToInt = (ip: string) => ip.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  return (ipToInt(ip) & mask) === (ipToInt(base!) & mask);
}

const nsLabels = (e: PodEndpoint) => e.nsLabels ?? { "kubernetes.io/metadata.name": e.namespace };

function peerMatches(peer: Peer, policyNs: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!("ip" in other)) return false; // ipBlock is meant for addresses outside the cluster
    return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(other.ip, c));
  }
  if ("ip" in other) return false;
  if (peer.namespaceSelector)
    return matches(peer.namespaceSelector, nsLabels(other)) && matches(peer.podSelector, other.labels);
  return other.namespace === policyNs && matches(peer.podSelector, other.labels);
}

function portMatches(rules: PortRule[] | undefined, port: number, protocol: string, dest: Endpoint): boolean {
  if (!rules || rules.length === 0) return true;
  return rules.some((r) => {
    if ((r.protocol ?? "TCP") !== protocol) return false;
    if (r.port === undefined) return true;
    const p = typeof r.port === "number" ? r.port : "ports" in dest ? dest.ports?.[r.port] : undefined;
    if (p === undefined) return false;
    return r.endPort ? port >= p && port <= r.endPort : port === p;
  });
}

/** Whether `from` may connect to `to` on `port` under the policies of the render. */
export function allowed(objs: K8sObject[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  const policies = objs.filter((o) => o.kind === "NetworkPolicy");
  const types = (p: K8sObject): string[] => p.spec.policyTypes ?? (p.spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
  const selects = (p: K8sObject, e: Endpoint) =>
    !("ip" in e) && (p.metadata.namespace ?? e.namespace) === e.namespace && matches(p.spec.podSelector, e.labels);

  const side = (kind: "Ingress" | "Egress", subject: Endpoint, peer: Endpoint): boolean => {
    if ("ip" in subject) return true; // outside the cluster: no policy applies
    const relevant = policies.filter((p) => types(p).includes(kind) && selects(p, subject));
    if (relevant.length === 0) return true; // not isolated in this direction
    return relevant.some((p) => {
      const ns = p.metadata.namespace ?? subject.namespace;
      const rules: Rule[] = (kind === "Ingress" ? p.spec.ingress : p.spec.egress) ?? [];
      return rules.some((r) => {
        const peers = kind === "Ingress" ? r.from : r.to;
        const peerOk = !peers || peers.length === 0 || peers.some((x) => peerMatches(x, ns, peer));
        return peerOk && portMatches(r.ports, port, protocol, to);
      });
    });
  };
  return side("Egress", from, to) && side("Ingress", to, from);
}
