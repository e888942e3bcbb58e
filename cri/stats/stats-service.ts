// The CRI stats RPCs, answered from the collector's cache: no cgroup file is read on a
// request. Lists cover running containers and ready pods (a stopped one has no usage to
// report); asking for a known id by name always answers, with attributes alone if need be.
import { InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import type { ContainerStats } from "../api/generated/api.js";
import type { RuntimeServiceApi } from "../service-types.js";
import type { StatsCollector } from "./collector.js";
import { toContainerStats, toPodSandboxStats } from "./cri-stats.js";
import type { ContainerTarget, SandboxTarget, StatsCatalog } from "./types.js";

export type StatsRpcs = Pick<
  RuntimeServiceApi,
  "containerStats" | "listContainerStats" | "podSandboxStats" | "listPodSandboxStats"
>;

export type StatsCache = Pick<StatsCollector, "latest" | "latestSandbox" | "writableLayerMountpoint">;

export class CriStatsService implements StatsRpcs {
  constructor(
    private readonly catalog: StatsCatalog,
    private readonly cache: StatsCache,
  ) {}

  containerStats: StatsRpcs["containerStats"] = async (req) => {
    requireId(req.containerId, "container_id");
    const target = this.catalog.container(req.containerId);
    if (!target) throw new NotFoundError("container", req.containerId);
    return { stats: this.containerStatsOf(target) };
  };

  listContainerStats: StatsRpcs["listContainerStats"] = async (req) => {
    const f = req.filter;
    const stats = this.catalog
      .containers()
      .filter((c) => c.running)
      .filter((c) => !f?.id || matchesId(c.id, f.id))
      .filter((c) => !f?.podSandboxId || matchesId(c.sandboxId, f.podSandboxId))
      .filter((c) => matchesLabels(c.labels, f?.labelSelector))
      .map((c) => this.containerStatsOf(c));
    return { stats };
  };

  podSandboxStats: StatsRpcs["podSandboxStats"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    const target = this.catalog.sandbox(req.podSandboxId);
    if (!target) throw new NotFoundError("pod sandbox", req.podSandboxId);
    return { stats: this.sandboxStatsOf(target, this.runningContainersBySandbox()) };
  };

  listPodSandboxStats: StatsRpcs["listPodSandboxStats"] = async (req) => {
    const f = req.filter;
    const bySandbox = this.runningContainersBySandbox();
    const stats = this.catalog
      .sandboxes()
      .filter((s) => s.ready)
      .filter((s) => !f?.id || matchesId(s.id, f.id))
      .filter((s) => matchesLabels(s.labels, f?.labelSelector))
      .map((s) => this.sandboxStatsOf(s, bySandbox));
    return { stats };
  };

  private containerStatsOf(target: ContainerTarget): ContainerStats {
    return toContainerStats(target, this.cache.latest(target.id), this.cache.writableLayerMountpoint);
  }

  private sandboxStatsOf(target: SandboxTarget, bySandbox: Map<string, ContainerTarget[]>) {
    const containers = (bySandbox.get(target.id) ?? []).map((c) => this.containerStatsOf(c));
    return toPodSandboxStats(target, this.cache.latestSandbox(target.id), containers);
  }

  private runningContainersBySandbox(): Map<string, ContainerTarget[]> {
    const bySandbox = new Map<string, ContainerTarget[]>();
    for (const c of this.catalog.containers()) {
      if (!c.running) continue;
      const list = bySandbox.get(c.sandboxId);
      if (list) list.push(c);
      else bySandbox.set(c.sandboxId, [c]);
    }
    return bySandbox;
  }
}

function requireId(value: string, field: string): void {
  if (!value) throw new InvalidArgumentError(field, "is required");
}

/** Filters take a full id or a prefix, as ListContainers does. */
function matchesId(id: string, wanted: string): boolean {
  return id === wanted || id.startsWith(wanted);
}

function matchesLabels(
  labels: Readonly<Record<string, string>>,
  selector: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
