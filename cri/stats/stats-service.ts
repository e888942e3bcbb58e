// The CRI stats RPCs, answered from the collector's cache: a cgroup is read on a request only
// for a running container or ready pod that no pass has sampled yet (it started since), as
// clients expect CPU and memory in every answer for one. Lists cover running containers and
// ready pods (a stopped one has no usage to report); asking for a known id by name always
// answers, with attributes alone if need be.
import { InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import type { ContainerStats, PodSandboxStats } from "../api/generated/api.js";
import type { RuntimeServiceApi } from "../service-types.js";
import type { StatsCollector } from "./collector.js";
import { toContainerStats, toPodSandboxStats } from "./cri-stats.js";
import type { ContainerTarget, SandboxTarget, StatsCatalog } from "./types.js";

export type StatsRpcs = Pick<
  RuntimeServiceApi,
  "containerStats" | "listContainerStats" | "podSandboxStats" | "listPodSandboxStats"
>;

export type StatsCache = Pick<
  StatsCollector,
  "containerSamples" | "sandboxSamples" | "writableLayerMountpoint"
>;

export class CriStatsService implements StatsRpcs {
  constructor(
    private readonly catalog: StatsCatalog,
    private readonly cache: StatsCache,
  ) {}

  containerStats: StatsRpcs["containerStats"] = async (req) => {
    requireId(req.containerId, "container_id");
    const target = this.catalog.container(req.containerId);
    if (!target) throw new NotFoundError("container", req.containerId);
    const [stats] = await this.containerStatsOf([target]);
    return { stats };
  };

  listContainerStats: StatsRpcs["listContainerStats"] = async (req) => {
    const f = req.filter;
    const targets = this.catalog
      .containers()
      .filter((c) => c.running)
      .filter((c) => !f?.id || matchesId(c.id, f.id))
      .filter((c) => !f?.podSandboxId || matchesId(c.sandboxId, f.podSandboxId))
      .filter((c) => matchesLabels(c.labels, f?.labelSelector));
    return { stats: await this.containerStatsOf(targets) };
  };

  podSandboxStats: StatsRpcs["podSandboxStats"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    const target = this.catalog.sandbox(req.podSandboxId);
    if (!target) throw new NotFoundError("pod sandbox", req.podSandboxId);
    const [stats] = await this.sandboxStatsOf([target], this.runningContainersBySandbox());
    return { stats };
  };

  listPodSandboxStats: StatsRpcs["listPodSandboxStats"] = async (req) => {
    const f = req.filter;
    const bySandbox = this.runningContainersBySandbox();
    const targets = this.catalog
      .sandboxes()
      .filter((s) => s.ready)
      .filter((s) => !f?.id || matchesId(s.id, f.id))
      .filter((s) => matchesLabels(s.labels, f?.labelSelector));
    return { stats: await this.sandboxStatsOf(targets, bySandbox) };
  };

  private async containerStatsOf(targets: readonly ContainerTarget[]): Promise<ContainerStats[]> {
    const samples = await this.cache.containerSamples(targets);
    return targets.map((t, i) => toContainerStats(t, samples[i], this.cache.writableLayerMountpoint));
  }

  private async sandboxStatsOf(
    targets: readonly SandboxTarget[],
    bySandbox: Map<string, ContainerTarget[]>,
  ): Promise<PodSandboxStats[]> {
    const containerTargets = targets.flatMap((t) => bySandbox.get(t.id) ?? []);
    const [containers, samples] = await Promise.all([
      this.containerStatsOf(containerTargets),
      this.cache.sandboxSamples(targets),
    ]);
    const statsBySandbox = new Map<string, ContainerStats[]>();
    containerTargets.forEach((c, j) => {
      const stats = containers[j];
      if (!stats) return;
      const list = statsBySandbox.get(c.sandboxId);
      if (list) list.push(stats);
      else statsBySandbox.set(c.sandboxId, [stats]);
    });
    return targets.map((t, i) => toPodSandboxStats(t, samples[i], statsBySandbox.get(t.id) ?? []));
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
