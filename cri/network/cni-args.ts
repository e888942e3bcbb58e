// What berth tells a CNI plugin about one pod, in the forms the CNI spec and its
// conventions define: CNI_ARGS (the K8S_POD_* keys every Kubernetes runtime passes), the
// portMappings capability, and the execution config a plugin reads on stdin. Pure
// functions, so the exact bytes a plugin receives can be tested without running one.
import { isIP } from "node:net";
import { InvalidArgumentError } from "../../common/errors.js";

/** One plugin entry of a network config list, as written in the config file. */
export type PluginConf = Record<string, unknown> & { type: string };

export interface PodIdentity {
  sandboxId: string;
  podName: string;
  podNamespace: string;
  podUid: string;
}

/** A CRI port mapping, as the sandbox lifecycle hands it over. */
export interface PortMapping {
  protocol: "TCP" | "UDP" | "SCTP";
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

/** The `portMappings` capability entry of the CNI conventions. */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  hostIP: string;
}

/** Runtime-supplied values, keyed by capability name; only declared capabilities reach a plugin. */
export type CapabilityArgs = Record<string, unknown>;

export type CniArgPairs = Array<[string, string]>;

// CNI_ARGS is "K=V;K=V" with no escaping, so a value holding either separator would be
// read as different keys by the plugin.
const CNI_ARG_UNSAFE = /[;=]/;

/**
 * The CNI_ARGS pairs for a pod. IgnoreUnknown=1 comes first so that plugins which parse
 * CNI_ARGS strictly accept the K8S_* keys they do not know.
 */
export function podCniArgs(pod: PodIdentity): CniArgPairs {
  const pairs: CniArgPairs = [
    ["IgnoreUnknown", "1"],
    ["K8S_POD_NAMESPACE", pod.podNamespace],
    ["K8S_POD_NAME", pod.podName],
    ["K8S_POD_INFRA_CONTAINER_ID", pod.sandboxId],
    ["K8S_POD_UID", pod.podUid],
  ];
  const fields: Record<string, string> = {
    K8S_POD_NAMESPACE: "podNamespace",
    K8S_POD_NAME: "podName",
    K8S_POD_INFRA_CONTAINER_ID: "sandboxId",
    K8S_POD_UID: "podUid",
  };
  for (const [key, value] of pairs) {
    if (CNI_ARG_UNSAFE.test(value)) {
      throw new InvalidArgumentError(fields[key] ?? key, `must not contain ';' or '=' (got "${value}")`);
    }
  }
  return pairs;
}

export function formatCniArgs(pairs: CniArgPairs): string {
  return pairs.map(([key, value]) => `${key}=${value}`).join(";");
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/**
 * CRI port mappings -> the portMappings capability. Mappings without a host port publish
 * nothing (the container port is reachable on the pod IP anyway), so they are dropped, as
 * every Kubernetes runtime does.
 */
export function toCniPortMappings(mappings: readonly PortMapping[]): CniPortMapping[] {
  const result: CniPortMapping[] = [];
  mappings.forEach((mapping, index) => {
    const field = `portMappings[${index}]`;
    if (mapping.hostPort === 0) return;
    if (!validPort(mapping.hostPort)) {
      throw new InvalidArgumentError(`${field}.hostPort`, `must be 0 or 1-65535 (got ${mapping.hostPort})`);
    }
    if (!validPort(mapping.containerPort)) {
      throw new InvalidArgumentError(
        `${field}.containerPort`,
        `must be 1-65535 (got ${mapping.containerPort})`,
      );
    }
    const protocol = String(mapping.protocol).toLowerCase();
    if (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp") {
      throw new InvalidArgumentError(
        `${field}.protocol`,
        `must be TCP, UDP or SCTP (got "${mapping.protocol}")`,
      );
    }
    if (mapping.hostIp !== "" && isIP(mapping.hostIp) === 0) {
      throw new InvalidArgumentError(`${field}.hostIp`, `is not an IP address (got "${mapping.hostIp}")`);
    }
    result.push({
      hostPort: mapping.hostPort,
      containerPort: mapping.containerPort,
      protocol,
      hostIP: mapping.hostIp,
    });
  });
  return result;
}

/** One range set per pod CIDR, as the `ipRanges` capability of the CNI conventions has them. */
export type CniIpRanges = Array<Array<{ subnet: string }>>;

/** The capability args berth offers for a pod; keys with nothing to say are left out. */
export function podCapabilityArgs(
  portMappings: readonly CniPortMapping[],
  podCidrs: readonly string[] = [],
): CapabilityArgs {
  const ipRanges: CniIpRanges = podCidrs.map((subnet) => [{ subnet }]);
  return {
    ...(portMappings.length > 0 && { portMappings }),
    ...(ipRanges.length > 0 && { ipRanges }),
  };
}

/** The capabilities a plugin entry declares as supported (`"capabilities": {"x": true}`). */
export function declaredCapabilities(plugin: PluginConf): string[] {
  const capabilities = plugin.capabilities;
  if (!capabilities || typeof capabilities !== "object" || Array.isArray(capabilities)) return [];
  return Object.entries(capabilities)
    .filter(([, enabled]) => enabled === true)
    .map(([name]) => name);
}

/** The runtimeConfig for a plugin: only the capabilities it declares and berth has values for. */
export function runtimeConfigFor(
  plugin: PluginConf,
  capabilityArgs: CapabilityArgs,
): Record<string, unknown> | undefined {
  const runtimeConfig: Record<string, unknown> = {};
  for (const capability of declaredCapabilities(plugin)) {
    if (Object.hasOwn(capabilityArgs, capability)) runtimeConfig[capability] = capabilityArgs[capability];
  }
  return Object.keys(runtimeConfig).length > 0 ? runtimeConfig : undefined;
}

export interface ExecutionContext {
  networkName: string;
  cniVersion: string;
  prevResult?: unknown;
  capabilityArgs: CapabilityArgs;
}

/**
 * The execution config a plugin reads on stdin: its own entry with the list's name and
 * cniVersion, prevResult when there is one, runtimeConfig for its capabilities (a static
 * runtimeConfig written in the file stays when berth has none to give), and no
 * `capabilities` key (the spec has the runtime remove it).
 */
export function pluginStdin(plugin: PluginConf, context: ExecutionContext): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin };
  delete config.capabilities;
  delete config.prevResult;
  config.cniVersion = context.cniVersion;
  config.name = context.networkName;
  const runtimeConfig = runtimeConfigFor(plugin, context.capabilityArgs);
  if (runtimeConfig) config.runtimeConfig = runtimeConfig;
  if (context.prevResult !== undefined) config.prevResult = context.prevResult;
  return config;
}
