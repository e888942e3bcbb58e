// berth.v1 Node: the front end of the pod manager for orchestrators and the CLI. Manifests
// are validated here, at the edge; the pod manager receives only typed PodSpecs.
import { randomUUID } from "node:crypto";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type {
  ApplyPodRequest,
  ApplyPodResponse,
  AppliedPod,
  DeletePodRequest,
  DeletePodResponse,
  GetEventsRequest,
  GetEventsResponse,
  GetNodeRequest,
  GetPodRequest,
  ListPodsRequest,
  ListPodsResponse,
  NodeInfo,
  Pod,
  WatchPodsRequest,
  WatchPodsResponse,
} from "../api/generated/berth.js";
import type { PodChange, PodManagerApi, PodStatusView } from "../pods/pod-manager-api.js";
import { parsePodManifest } from "../podspec/parse.js";
import { podSpecHash } from "../podspec/hash.js";
import { DEFAULT_NAMESPACE, type PodSpec } from "../podspec/types.js";
import { AsyncQueue } from "./async-queue.js";
import { parseLabelSelector } from "./label-selector.js";
import { podEventMessage, podMessage } from "./pod-message.js";

export interface NodeServiceOptions {
  pods: PodManagerApi;
  /** GetNode's answer (see node-info.ts). */
  nodeInfo: () => Promise<NodeInfo>;
  logger: Logger;
  /** Changes a watcher may fall behind by before its stream is ended. */
  watchBacklog?: number;
}

const DEFAULT_WATCH_BACKLOG = 10_000;

export class NodeService {
  private readonly pods: PodManagerApi;
  private readonly logger: Logger;

  constructor(private readonly options: NodeServiceOptions) {
    this.pods = options.pods;
    this.logger = options.logger;
  }

  async applyPod(req: ApplyPodRequest): Promise<ApplyPodResponse> {
    const sourceName = req.sourceName || "manifest";
    if (req.manifest.trim() === "") throw new InvalidArgumentError("manifest", "is empty");
    // A uid the manifest did not give is generated; for a pod that already exists it is
    // replaced by the running pod's, so re-applying a manifest updates the pod in place.
    const generated = new Set<string>();
    const specs = parsePodManifest(req.manifest, sourceName, {
      generateUid: () => {
        const uid = randomUUID();
        generated.add(uid);
        return uid;
      },
    });
    checkUniqueNames(specs);
    const plans = specs.map((spec) => this.plan(spec, generated.has(spec.metadata.uid)));
    const applied: AppliedPod[] = [];
    for (const { spec, action } of plans) {
      const status = await this.pods.apply(spec, { kind: "api" });
      this.logger.info(
        { namespace: spec.metadata.namespace, pod: spec.metadata.name, uid: spec.metadata.uid, action },
        "pod applied",
      );
      applied.push({ pod: podMessage(status), action });
    }
    return { pods: applied };
  }

  /** Checks one pod against what runs now; throws before anything of the manifest is applied. */
  private plan(spec: PodSpec, uidGenerated: boolean): { spec: PodSpec; action: string } {
    const { namespace, name, uid } = spec.metadata;
    const existing = this.pods.get(namespace, name);
    if (existing === undefined) return { spec, action: "created" };
    refuseStaticPod(existing, "apply");
    let desired = spec;
    if (uidGenerated) {
      desired = { ...spec, metadata: { ...spec.metadata, uid: existing.metadata.uid } };
    } else if (uid !== existing.metadata.uid) {
      throw new FailedPreconditionError(
        `pod ${namespace}/${name} exists with uid ${existing.metadata.uid}, the manifest names uid ${uid}: delete the pod first`,
      );
    }
    const action = podSpecHash(desired) === podSpecHash(existing.spec) ? "unchanged" : "configured";
    return { spec: desired, action };
  }

  async deletePod(req: DeletePodRequest): Promise<DeletePodResponse> {
    const { namespace, name } = podKey(req);
    const grace = req.gracePeriodSeconds;
    if (grace !== undefined && grace < 0n)
      throw new InvalidArgumentError("grace_period_seconds", "must be 0 or more");
    if (grace !== undefined && grace > BigInt(Number.MAX_SAFE_INTEGER))
      throw new InvalidArgumentError("grace_period_seconds", "is too large");
    const existing = this.requirePod(namespace, name);
    refuseStaticPod(existing, "delete");
    await this.pods.delete(namespace, name, grace === undefined ? undefined : Number(grace));
    this.logger.info({ namespace, pod: name }, "pod deleted");
    return {};
  }

  async getPod(req: GetPodRequest): Promise<Pod> {
    const { namespace, name } = podKey(req);
    return podMessage(this.requirePod(namespace, name));
  }

  async listPods(req: ListPodsRequest): Promise<ListPodsResponse> {
    const selector = parseLabelSelector(req.labelSelector);
    const pods = [...this.pods.list()]
      .filter(
        (p) =>
          (req.namespace === "" || p.metadata.namespace === req.namespace) && selector(p.metadata.labels),
      )
      .sort(byNamespaceAndName)
      .map(podMessage);
    return { pods };
  }

  async *watchPods(req: WatchPodsRequest, signal?: AbortSignal): AsyncGenerator<WatchPodsResponse> {
    const inNamespace = (namespace: string): boolean => req.namespace === "" || namespace === req.namespace;
    const queue = new AsyncQueue<WatchPodsResponse>(this.options.watchBacklog ?? DEFAULT_WATCH_BACKLOG);
    // The snapshot and the subscription are taken in one synchronous step, so no change can
    // fall between them: every pod is seen once as ADDED, then only later changes.
    for (const pod of [...this.pods.list()].sort(byNamespaceAndName)) {
      if (inNamespace(pod.metadata.namespace)) queue.push({ type: "ADDED", pod: podMessage(pod) });
    }
    if (req.includeEvents && req.replayEvents) {
      for (const event of this.pods.events(req.namespace === "" ? {} : { namespace: req.namespace })) {
        queue.push({ type: "EVENT", event: podEventMessage(event) });
      }
    }
    const unsubscribe = this.pods.watch((change: PodChange) => {
      if (change.type === "EVENT") {
        if (req.includeEvents && inNamespace(change.event.pod.namespace))
          queue.push({ type: "EVENT", event: podEventMessage(change.event) });
      } else if (inNamespace(change.pod.metadata.namespace)) {
        queue.push({ type: change.type, pod: podMessage(change.pod) });
      }
    });
    try {
      yield* queue.drain(signal);
    } finally {
      unsubscribe();
    }
  }

  async getNode(_req: GetNodeRequest): Promise<NodeInfo> {
    return this.options.nodeInfo();
  }

  async getEvents(req: GetEventsRequest): Promise<GetEventsResponse> {
    if (req.name !== "" && req.namespace === "")
      throw new InvalidArgumentError("namespace", "is required when name is given");
    const filter = {
      ...(req.namespace !== "" && { namespace: req.namespace }),
      ...(req.name !== "" && { name: req.name }),
    };
    return { events: this.pods.events(filter).map(podEventMessage) };
  }

  private requirePod(namespace: string, name: string): PodStatusView {
    const pod = this.pods.get(namespace, name);
    if (pod === undefined) throw new NotFoundError("pod", `${namespace}/${name}`);
    return pod;
  }
}

function podKey(req: { namespace: string; name: string }): { namespace: string; name: string } {
  if (req.name === "") throw new InvalidArgumentError("name", "is required");
  return { namespace: req.namespace || DEFAULT_NAMESPACE, name: req.name };
}

function refuseStaticPod(pod: PodStatusView, verb: "apply" | "delete"): void {
  if (pod.source.kind !== "file") return;
  const { namespace, name } = pod.metadata;
  const what = verb === "apply" ? "edit that file" : "remove that file (or the pod from it)";
  throw new FailedPreconditionError(
    `pod ${namespace}/${name} is managed by file ${pod.source.path}; ${what}`,
  );
}

function checkUniqueNames(specs: readonly PodSpec[]): void {
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = `${spec.metadata.namespace}/${spec.metadata.name}`;
    if (seen.has(key))
      throw new InvalidArgumentError("metadata.name", `pod ${key} appears twice in the manifest`);
    seen.add(key);
  }
}

function byNamespaceAndName(a: PodStatusView, b: PodStatusView): number {
  return (
    a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name)
  );
}
