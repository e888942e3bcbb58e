// The pod's resolv.conf, by its dnsPolicy, with the kubelet's rules. berth has no cluster DNS
// service, so ClusterFirst (and ClusterFirstWithHostNet) fall back to the node's resolver, as
// the kubelet does when it is configured without one.
import { readFile } from "node:fs/promises";
import { DNSConfig } from "../../cri/api/generated/api.js";
import type { DnsOption, PodSpec } from "../podspec/types.js";

const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export interface ResolvConf {
  readonly servers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const servers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === "nameserver" && rest[0]) servers.push(rest[0]);
    // The last search (or domain) line wins, as in the resolver.
    else if (keyword === "search" || keyword === "domain") searches = rest;
    else if (keyword === "options") options.push(...rest);
  }
  return { servers, searches, options };
}

function optionText(option: DnsOption): string {
  return option.value === undefined ? option.name : `${option.name}:${option.value}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Options by name: the pod's replace the node's of the same name. */
function mergeOptions(base: readonly string[], pod: readonly DnsOption[]): string[] {
  const byName = new Map<string, string>();
  for (const option of base) byName.set(option.split(":")[0] ?? option, option);
  for (const option of pod) byName.set(option.name, optionText(option));
  return [...byName.values()];
}

/**
 * The sandbox's DNS config, or undefined when the pod simply uses the node's resolv.conf
 * (the runtime copies that file as it is, which keeps every line of it).
 */
export async function podDnsConfig(
  spec: Pick<PodSpec, "dnsPolicy" | "dnsConfig">,
  hostResolvConf: string,
): Promise<DNSConfig | undefined> {
  const pod = spec.dnsConfig;
  if (spec.dnsPolicy === "None") {
    return DNSConfig.fromPartial({
      servers: [...(pod?.nameservers ?? [])],
      searches: [...(pod?.searches ?? [])],
      options: (pod?.options ?? []).map(optionText),
    });
  }
  if (pod === undefined) return undefined;
  const host = parseResolvConf(await readFile(hostResolvConf, "utf8").catch(() => ""));
  return DNSConfig.fromPartial({
    servers: unique([...host.servers, ...pod.nameservers]).slice(0, MAX_NAMESERVERS),
    searches: unique([...host.searches, ...pod.searches]).slice(0, MAX_SEARCHES),
    options: mergeOptions(host.options, pod.options),
  });
}
