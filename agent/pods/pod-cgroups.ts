// The pod-level cgroup: `<root>/pods/<qos>/pod-<uid>`, the parent of the sandbox's and the
// containers' cgroups. On a cgroup v2 host berth creates it with the kubelet's pod limits
// before the sandbox; on v1 or hybrid hosts the runtime creates it plainly (read-only
// fallback: no pod-level limits). berth removes it after the pod: the runtime only removes
// cgroups it chose itself.
import type { CgroupManager } from "../../cgroups/manager.js";
import { applyResources, sharesToCpuWeight, type CgroupResources } from "../../cgroups/resources.js";
import type { Logger } from "../../common/logger.js";
import { podCgroupName, podCgroupResources } from "../podspec/resources.js";
import type { PodSpec } from "../podspec/types.js";

export function podCgroupParent(
  root: string,
  spec: Pick<PodSpec, "metadata" | "containers" | "initContainers">,
): string {
  const trimmed = root.replace(/\/+$/, "");
  return `${trimmed}/${podCgroupName(spec)}`;
}

/** The kubelet's pod cgroup settings as cgroup v2 files. */
export function podCgroupV2Resources(spec: PodSpec): CgroupResources {
  const r = podCgroupResources(spec);
  return {
    cpuWeight: sharesToCpuWeight(r.cpuShares),
    ...(r.cpuPeriod !== undefined && {
      cpuMax: {
        quotaUsec: r.cpuQuota !== undefined && r.cpuQuota > 0 ? r.cpuQuota : undefined,
        periodUsec: r.cpuPeriod,
      },
    }),
    ...(r.memoryLimitInBytes !== undefined && {
      memoryMax: r.memoryLimitInBytes > 0 ? r.memoryLimitInBytes : ("max" as const),
    }),
  };
}

export class PodCgroups {
  constructor(
    private readonly root: string,
    private readonly logger: Logger,
    private readonly manager?: CgroupManager,
  ) {}

  parentOf(spec: PodSpec): string {
    return podCgroupParent(this.root, spec);
  }

  /** Creates the pod cgroup with its limits where cgroup v2 allows; nothing to do elsewhere. */
  async ensure(spec: PodSpec): Promise<void> {
    if (!this.manager || this.manager.layout.mode !== "unified") return;
    const parent = this.parentOf(spec);
    await this.manager.ensure(parent);
    await applyResources(parent, podCgroupV2Resources(spec), this.manager.root);
  }

  async remove(parent: string): Promise<void> {
    if (!this.manager || parent === "") return;
    try {
      await this.manager.remove(parent);
    } catch (err) {
      this.logger.warn({ err, cgroup: parent }, "removing the pod cgroup failed");
    }
  }
}
