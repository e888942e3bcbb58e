// Finds what an operator names on the command line: a pod by name (or sandbox id), and a
// container in it by name, or a container by id, as kubectl and crictl users type them.
import {
  ContainerState,
  PodSandboxState,
  type Container,
  type PodSandbox,
} from "../../cri/api/generated/api.js";
import type { CriClients } from "../../cri/grpc-client.js";

export class TargetNotFound extends Error {}

/** The newest ready sandbox named `name` (in `namespace` when given), or the one with that id prefix. */
export async function findSandbox(
  cri: CriClients,
  nameOrId: string,
  namespace?: string,
): Promise<PodSandbox> {
  const { items } = await cri.runtime.listPodSandbox({});
  const byName = items.filter(
    (s) => s.metadata?.name === nameOrId && (!namespace || s.metadata.namespace === namespace),
  );
  const candidates = byName.length ? byName : items.filter((s) => s.id.startsWith(nameOrId));
  const ready = candidates.filter((s) => s.state === PodSandboxState.SANDBOX_READY);
  const pick = newest(ready.length ? ready : candidates);
  if (!pick)
    throw new TargetNotFound(`no pod named "${nameOrId}"${namespace ? ` in namespace ${namespace}` : ""}`);
  return pick;
}

/**
 * A running container: by id prefix, or in the pod named `target`, the one named `container`
 * (or the pod's only running container when it has one).
 */
export async function findRunningContainer(
  cri: CriClients,
  target: string,
  container?: string,
  namespace?: string,
): Promise<Container> {
  const { containers } = await cri.runtime.listContainers({});
  const running = containers.filter((c) => c.state === ContainerState.CONTAINER_RUNNING);
  if (!container) {
    const byId = running.filter((c) => c.id.startsWith(target));
    if (byId.length === 1) return byId[0]!;
  }
  const sandbox = await findSandbox(cri, target, namespace);
  const inPod = running.filter((c) => c.podSandboxId === sandbox.id);
  if (container) {
    const named = newest(inPod.filter((c) => c.metadata?.name === container));
    if (!named) throw new TargetNotFound(`pod "${target}" has no running container named "${container}"`);
    return named;
  }
  if (inPod.length === 1) return inPod[0]!;
  if (inPod.length === 0) throw new TargetNotFound(`pod "${target}" has no running container`);
  const names = inPod.map((c) => c.metadata?.name).join(", ");
  throw new TargetNotFound(`pod "${target}" has several containers (${names}): choose one with -c`);
}

function newest<T extends { createdAt: bigint }>(items: T[]): T | undefined {
  return [...items].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
}
