// berth.v1 GetNode: what this node is and whether it can run pods. Host facts come from
// node's os module for now (cheap, no process spawned); readiness from the CRI runtime's
// Status conditions.
import { readFile } from "node:fs/promises";
import * as os from "node:os";
import type { NodeCondition, NodeInfo } from "../api/generated/berth.js";
import type { StatusResponse } from "../../cri/api/generated/api.js";
import { ociArchitecture } from "../../cri/images/platform.js";

export interface HostFacts {
  hostname: string;
  operatingSystem: string;
  osImage: string;
  kernelVersion: string;
  /** Go's architecture names, as Kubernetes reports them. */
  architecture: string;
  cpus: number;
  memoryBytes: number;
}

export interface NodeInfoSources {
  host: () => Promise<HostFacts>;
  runtimeStatus: () => Promise<StatusResponse>;
  podCount: () => number;
  berthVersion: string;
  /** Overrides the host name (lowercased, as Kubernetes node names are). */
  nodeName?: string;
}

/** The CRI condition types a node needs before it can run pods. */
const REQUIRED_RUNTIME_CONDITIONS = ["RuntimeReady", "NetworkReady"] as const;

export async function readHostFacts(osReleasePath = "/etc/os-release"): Promise<HostFacts> {
  return {
    hostname: os.hostname(),
    operatingSystem: os.type().toLowerCase(),
    osImage: await prettyName(osReleasePath),
    kernelVersion: os.release(),
    architecture: ociArchitecture(os.arch()),
    cpus: os.availableParallelism(),
    memoryBytes: os.totalmem(),
  };
}

async function prettyName(path: string): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    const line = /^PRETTY_NAME=(.*)$/m.exec(text)?.[1];
    if (line !== undefined) return line.trim().replace(/^(["'])(.*)\1$/, "$2");
  } catch {
    // No os-release: the distribution is simply not reported.
  }
  return "";
}

export async function collectNodeInfo(sources: NodeInfoSources): Promise<NodeInfo> {
  const host = await sources.host();
  // Memory in Ki, as the kubelet reports it; nothing is reserved for the system yet, so
  // allocatable equals capacity.
  const capacity = { cpu: String(host.cpus), memory: `${Math.floor(host.memoryBytes / 1024)}Ki` };
  return {
    name: (sources.nodeName ?? host.hostname).toLowerCase(),
    operatingSystem: host.operatingSystem,
    osImage: host.osImage,
    kernelVersion: host.kernelVersion,
    architecture: host.architecture,
    capacity,
    allocatable: { ...capacity },
    berthVersion: sources.berthVersion,
    conditions: await runtimeConditions(sources.runtimeStatus),
    podCount: sources.podCount(),
    containerRuntimeVersion: `berth ${sources.berthVersion}`,
  };
}

async function runtimeConditions(status: () => Promise<StatusResponse>): Promise<NodeCondition[]> {
  let reported: StatusResponse;
  try {
    reported = await status();
  } catch (err) {
    const message = `runtime status unavailable: ${err instanceof Error ? err.message : String(err)}`;
    return [...REQUIRED_RUNTIME_CONDITIONS, "Ready"].map((type) => ({
      type,
      status: "Unknown",
      reason: "RuntimeStatusUnknown",
      message,
    }));
  }
  const byType = new Map((reported.status?.conditions ?? []).map((c) => [c.type, c]));
  const conditions: NodeCondition[] = REQUIRED_RUNTIME_CONDITIONS.map((type) => {
    const c = byType.get(type);
    if (c === undefined) return { type, status: "Unknown", reason: "NotReported", message: "" };
    return { type, status: c.status ? "True" : "False", reason: c.reason, message: c.message };
  });
  const notReady = conditions.filter((c) => c.status !== "True");
  conditions.push(
    notReady.length === 0
      ? { type: "Ready", status: "True", reason: "BerthReady", message: "berth is ready to run pods" }
      : {
          type: "Ready",
          status: "False",
          reason: "RuntimeNotReady",
          message: notReady
            .map((c) => `${c.type} is ${c.status}${c.message ? `: ${c.message}` : ""}`)
            .join("; "),
        },
  );
  return conditions;
}
