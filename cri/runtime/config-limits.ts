// Size bounds of sandbox and container configs. Labels and annotations come back in every
// ListPodSandbox and ListContainers response, so an unbounded one breaks listing for every
// caller once a response passes the gRPC message limit (16 MiB). Kubernetes bounds annotations
// to 256 KiB per object (TotalAnnotationSizeLimitB); berth bounds labels and annotations alike,
// each list of a config by count, and the whole config to 1 MiB encoded.
import { InvalidArgumentError } from "../../common/errors.js";
import { ContainerConfig, PodSandboxConfig } from "../api/generated/api.js";

/** Bytes of all keys and values of one object's labels, and of its annotations (each). */
export const MAX_LABELS_BYTES = 256 * 1024;
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;
/** Bytes of a whole sandbox or container config as encoded on the wire. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Entries of each list of a container config. */
export const MAX_CONTAINER_LIST_ENTRIES = {
  command: 4096,
  args: 4096,
  envs: 4096,
  mounts: 256,
  devices: 256,
} as const;
/** Entries of each list of a sandbox config. */
export const MAX_SANDBOX_LIST_ENTRIES = {
  port_mappings: 1024,
  "dns_config.servers": 32,
  "dns_config.searches": 32,
  "dns_config.options": 32,
  "linux.sysctls": 256,
} as const;

/** Refuses a sandbox config whose labels, annotations, lists or total size are over the bounds. */
export function checkPodSandboxConfigSize(config: PodSandboxConfig): void {
  checkMapBytes(config.labels, MAX_LABELS_BYTES, "config.labels");
  checkMapBytes(config.annotations, MAX_ANNOTATIONS_BYTES, "config.annotations");
  checkCounts(
    {
      port_mappings: config.portMappings.length,
      "dns_config.servers": config.dnsConfig?.servers.length ?? 0,
      "dns_config.searches": config.dnsConfig?.searches.length ?? 0,
      "dns_config.options": config.dnsConfig?.options.length ?? 0,
      "linux.sysctls": Object.keys(config.linux?.sysctls ?? {}).length,
    },
    MAX_SANDBOX_LIST_ENTRIES,
  );
  checkEncodedSize(PodSandboxConfig.encode(config).finish().byteLength);
}

/** Refuses a container config whose labels, annotations, lists or total size are over the bounds. */
export function checkContainerConfigSize(config: ContainerConfig): void {
  checkMapBytes(config.labels, MAX_LABELS_BYTES, "config.labels");
  checkMapBytes(config.annotations, MAX_ANNOTATIONS_BYTES, "config.annotations");
  checkCounts(
    {
      command: config.command.length,
      args: config.args.length,
      envs: config.envs.length,
      mounts: config.mounts.length,
      devices: config.devices.length,
    },
    MAX_CONTAINER_LIST_ENTRIES,
  );
  checkEncodedSize(ContainerConfig.encode(config).finish().byteLength);
}

function checkMapBytes(map: { [key: string]: string }, limit: number, field: string): void {
  let total = 0;
  for (const [key, value] of Object.entries(map)) {
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
    if (total > limit) {
      throw new InvalidArgumentError(field, `keys and values total more than the limit of ${limit} bytes`);
    }
  }
}

function checkCounts<K extends string>(counts: Record<K, number>, limits: Record<K, number>): void {
  for (const [list, count] of Object.entries(counts) as [K, number][]) {
    if (count > limits[list]) {
      throw new InvalidArgumentError(
        `config.${list}`,
        `${count} entries, more than the limit of ${limits[list]}`,
      );
    }
  }
}

function checkEncodedSize(bytes: number): void {
  if (bytes > MAX_CONFIG_BYTES) {
    throw new InvalidArgumentError(
      "config",
      `${bytes} bytes encoded, more than the limit of ${MAX_CONFIG_BYTES}`,
    );
  }
}
