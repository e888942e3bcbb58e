// The pod CIDR the kubelet hands the runtime (UpdateRuntimeConfig): validated, kept on disk
// so an agent restart does not forget it, and passed to the pod network, which offers it to
// CNI plugins as the `ipRanges` capability (host-local then allocates from it).
import { isIP } from "node:net";
import { join } from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../../common/atomic-file.js";
import { InvalidArgumentError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { PodNetwork } from "./deps.js";

export const POD_CIDR_FIELD = "runtime_config.network_config.pod_cidr";
const STATE_FILE = "pod-cidr.json";

/**
 * "10.244.1.0/24" or a dual-stack "10.244.1.0/24,fd00:1::/64" -> its CIDRs. Throws
 * InvalidArgumentError naming the field for anything that is not a list of CIDRs.
 */
export function parsePodCidrs(text: string): string[] {
  const cidrs = text.split(",").map((c) => c.trim());
  cidrs.forEach((cidr, i) => {
    const [address = "", prefix = "", ...rest] = cidr.split("/");
    const family = isIP(address);
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    const max = family === 6 ? 128 : 32;
    if (family === 0 || rest.length > 0 || bits < 1 || bits > max) {
      throw new InvalidArgumentError(POD_CIDR_FIELD, `entry ${i} ("${cidr}") is not an IPv4 or IPv6 CIDR`);
    }
  });
  if (new Set(cidrs).size !== cidrs.length)
    throw new InvalidArgumentError(POD_CIDR_FIELD, "lists a CIDR twice");
  return cidrs;
}

interface PodCidrState {
  podCidrs: string[];
}

export class PodCidrConfig {
  private cidrs: string[] = [];
  private updates: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(
    stateDir: string,
    private readonly network: PodNetwork | undefined,
  ) {
    this.path = join(stateDir, STATE_FILE);
  }

  /** The pod CIDRs in force; empty until the kubelet has sent one. */
  get current(): readonly string[] {
    return this.cidrs;
  }

  /** Takes up the CIDRs saved by an earlier run; a damaged file is ignored (the kubelet sends them again). */
  async load(logger: Logger): Promise<void> {
    try {
      const state = await readJsonIfExists<PodCidrState>(this.path);
      if (!state || !Array.isArray(state.podCidrs)) return;
      await this.apply(parsePodCidrs(state.podCidrs.join(",")));
    } catch (err) {
      logger.warn({ err, path: this.path }, "ignoring the saved pod CIDR");
    }
  }

  /** An empty text changes nothing (the kubelet sends one before it knows the node's CIDR). */
  async update(podCidr: string): Promise<void> {
    if (podCidr.trim() === "") return;
    const cidrs = parsePodCidrs(podCidr);
    // One update at a time, so the network and the file always end on the same CIDRs.
    const run = this.updates.then(async () => {
      if (cidrs.join(",") === this.cidrs.join(",")) return;
      await this.apply(cidrs);
      await writeJsonAtomic(this.path, { podCidrs: cidrs } satisfies PodCidrState);
    });
    this.updates = run.catch(() => undefined);
    await run;
  }

  private async apply(cidrs: string[]): Promise<void> {
    await this.network?.usePodCidrs?.(cidrs);
    this.cidrs = cidrs;
  }
}
