// berth's configuration: every field has a default; a YAML file, then BERTH_* environment
// variables, then command-line flags override it, in that order.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { parse as parseYaml } from "yaml";
import { InvalidArgumentError } from "../common/errors.js";
import { DEFAULT_IMAGE_LIMITS, imageLimitsOf, type ImageLimits } from "../cri/images/image-limits.js";
// --- node status, eviction, reporter (agent/node, agent/eviction, agent/reporter) ---
import { defaultEvictionConfig, type EvictionConfig } from "./eviction/config.js";
import {
  defaultNodeStatusConfig,
  defaultReservationsConfig,
  type NodeStatusConfig,
  type ReservationsConfig,
} from "./node/capacity.js";
import { validateNodeServicesConfig } from "./node/services-config.js";
import { defaultContainerLogConfig, parseContainerLogConfig } from "./logs/rotation-policy.js";
import { defaultReporterConfig, type ReporterConfig } from "./reporter/config.js";
// --- end node status, eviction, reporter ---
import { DEFAULT_SOCKET } from "./default-socket.js";

export interface AgentConfig {
  /** gRPC socket for CRI and berth.v1 (root only). */
  socket: string;
  stateDir: string;
  runDir: string;
  /** Parent of berth's pod cgroups; a relative path nests under the agent's own cgroup. */
  cgroupRoot: string;
  logLevel: string;
  cni: {
    enabled: boolean;
    confDir: string;
    pluginDirs: string[];
    /** Written when confDir holds no network config. */
    defaultSubnet: string;
    defaultBridge: string;
    /** Masquerade pod traffic leaving the pod subnet (pods reach the outside). */
    defaultIpMasq: boolean;
  };
  runcBinary: string;
  conmonBinary: string;
  /** exec/attach/port-forward server: loopback by default; port 0 lets the kernel choose. */
  streaming: { address: string; port: number };
  registry: {
    /** Per-registry mirrors, CAs and insecure hosts, in containerd's hosts.toml layout. */
    hostsDir: string;
    /** A Docker-style config.json with registry credentials; "" for none. */
    authFile: string;
  };
  /** Bounds every pulled or imported image must stay within: layer count, uncompressed size per
   * layer and per image, compression ratio, and the free space of the image filesystem kept free. */
  images: ImageLimits;
  /** /healthz, /metrics and /stats/summary. */
  http: {
    enabled: boolean;
    /** Loopback by default: the endpoint shows every pod's usage and has no authentication. */
    address: string;
    /** 0 picks a free port. */
    port: number;
  };
  /** How often the stats collector reads every container's cgroup. */
  statsIntervalSeconds: number;
  /** Static pods: Pod manifests in this folder run without any API call, and follow their files. */
  manifestsDir: string;
  // --- pods (kubelet layer) ---
  /** CRI socket the pods run on (e.g. containerd's); "" runs them on the in-process berth runtime. */
  runtimeEndpoint: string;
  /** Exec probes allowed to run at once; the rest queue. */
  maxExecProbes: number;
  /** The node's name in pod status, events and the downward API. */
  nodeName: string;
  /** Rotate a running container's log once it reaches this size (a quantity, "10Mi"), as the kubelet does. */
  containerLogMaxSize: string;
  /** Log files kept per container, the current one included (2 or more); older ones are gzipped. */
  containerLogMaxFiles: number;
  /** How often running containers' log sizes are checked (a duration, 3s or more). */
  containerLogMonitorInterval: string;
  // --- end pods ---
  // --- node status, eviction, reporter ---
  /** CPU, memory and ephemeral-storage set aside from allocatable (kubeReserved, systemReserved). */
  reservations: ReservationsConfig;
  /** The node's capacity beyond its hardware (maxPods). */
  nodeStatus: NodeStatusConfig;
  /** Eviction thresholds, grace periods and minimum reclaim, as the kubelet's, plus berth's PSI signal. */
  eviction: EvictionConfig;
  /** Reports to an orchestrator (berth.v1.Orchestrator); off while the endpoint is "". */
  reporter: ReporterConfig;
  // --- end node status, eviction, reporter ---
}

export const DEFAULT_CONFIG_PATH = "/etc/berth/config.yaml";

export function defaultConfig(): AgentConfig {
  return {
    socket: DEFAULT_SOCKET,
    stateDir: "/var/lib/berth",
    runDir: "/run/berth",
    cgroupRoot: "/berth",
    logLevel: "info",
    cni: {
      enabled: true,
      confDir: "/etc/cni/net.d",
      pluginDirs: ["/usr/lib/cni", "/opt/cni/bin"],
      defaultSubnet: "10.88.0.0/16",
      defaultBridge: "berth0",
      defaultIpMasq: true,
    },
    runcBinary: "/usr/sbin/runc",
    conmonBinary: "/usr/bin/conmon",
    streaming: { address: "127.0.0.1", port: 0 },
    registry: { hostsDir: "/etc/berth/certs.d", authFile: "" },
    images: { ...DEFAULT_IMAGE_LIMITS },
    http: { enabled: true, address: "127.0.0.1", port: 10250 },
    statsIntervalSeconds: 10,
    manifestsDir: "/etc/berth/manifests",
    runtimeEndpoint: "",
    maxExecProbes: 8,
    nodeName: hostname(),
    ...defaultContainerLogConfig(),
    // --- node status, eviction, reporter ---
    reservations: defaultReservationsConfig(),
    nodeStatus: defaultNodeStatusConfig(),
    eviction: defaultEvictionConfig(),
    reporter: defaultReporterConfig(),
    // --- end node status, eviction, reporter ---
  };
}

/** Environment variables that override config fields. */
const ENV_OVERRIDES: Record<string, (c: AgentConfig, v: string) => void> = {
  BERTH_SOCKET: (c, v) => (c.socket = v),
  BERTH_STATE_DIR: (c, v) => (c.stateDir = v),
  BERTH_RUN_DIR: (c, v) => (c.runDir = v),
  BERTH_CGROUP_ROOT: (c, v) => (c.cgroupRoot = v),
  BERTH_LOG_LEVEL: (c, v) => (c.logLevel = v),
  BERTH_CNI_CONF_DIR: (c, v) => (c.cni.confDir = v),
  BERTH_HTTP_ADDRESS: (c, v) => (c.http.address = v),
  BERTH_HTTP_PORT: (c, v) => (c.http.port = portNumber(v, "BERTH_HTTP_PORT")),
  BERTH_MANIFESTS_DIR: (c, v) => (c.manifestsDir = v),
  BERTH_RUNTIME_ENDPOINT: (c, v) => (c.runtimeEndpoint = v),
  BERTH_NODE_NAME: (c, v) => (c.nodeName = v),
  BERTH_REPORTER_ENDPOINT: (c, v) => (c.reporter.endpoint = v),
};

export interface LoadOptions {
  path?: string;
  /** The file must exist (it was named explicitly). */
  required?: boolean;
  env?: NodeJS.ProcessEnv;
  overrides?: Partial<Omit<AgentConfig, "cni">> & { cni?: Partial<AgentConfig["cni"]> };
}

export async function loadConfig(opts: LoadOptions = {}): Promise<AgentConfig> {
  const config = defaultConfig();
  const path = opts.path ?? DEFAULT_CONFIG_PATH;
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT" || opts.required) {
      throw new InvalidArgumentError("config", `cannot read ${path}: ${(err as Error).message}`);
    }
  }
  if (text !== undefined) mergeFile(config, parseYaml(text) as unknown, path);
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const value = (opts.env ?? process.env)[name];
    if (value) apply(config, value);
  }
  const { cni, ...rest } = opts.overrides ?? {};
  Object.assign(config, dropUndefined(rest));
  if (cni) Object.assign(config.cni, dropUndefined(cni));
  validateHttpAndStats(config);
  validatePods(config);
  imageLimitsOf(config.images, "images");
  validateNodeServicesConfig(config);
  return config;
}

function portNumber(value: string, field: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(field, `"${value}" is not a port number (0-65535)`);
  return port;
}

function validateHttpAndStats(config: AgentConfig): void {
  portNumber(String(config.http.port), "http: port");
  if (!config.http.address) throw new InvalidArgumentError("http: address", "must not be empty");
  if (!(config.statsIntervalSeconds > 0) || !Number.isFinite(config.statsIntervalSeconds))
    throw new InvalidArgumentError("statsIntervalSeconds", "must be a positive number of seconds");
}

function validatePods(config: AgentConfig): void {
  if (!Number.isInteger(config.maxExecProbes) || config.maxExecProbes < 1)
    throw new InvalidArgumentError("maxExecProbes", "must be a whole number >= 1");
  if (!config.nodeName) throw new InvalidArgumentError("nodeName", "must not be empty");
  parseContainerLogConfig(config);
}

/** Merges a parsed YAML document into the config, rejecting unknown keys and wrong types by name. */
function mergeFile(config: AgentConfig, doc: unknown, path: string): void {
  if (doc === null || doc === undefined) return;
  mergeObject(config as unknown as Record<string, unknown>, doc, path);
}

function mergeObject(target: Record<string, unknown>, source: unknown, field: string): void {
  if (typeof source !== "object" || source === null || Array.isArray(source)) {
    throw new InvalidArgumentError(field, "must be a mapping");
  }
  for (const [key, value] of Object.entries(source)) {
    const name = `${field}: ${key}`;
    if (!(key in target)) throw new InvalidArgumentError(name, "unknown field");
    const current = target[key];
    if (typeof current === "object" && current !== null && !Array.isArray(current)) {
      mergeObject(current as Record<string, unknown>, value, name);
    } else if (Array.isArray(current)) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === typeof current[0])) {
        throw new InvalidArgumentError(name, `must be a list of ${typeof current[0]}`);
      }
      target[key] = value;
    } else {
      if (typeof value !== typeof current)
        throw new InvalidArgumentError(name, `must be a ${typeof current}`);
      target[key] = value;
    }
  }
}

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
