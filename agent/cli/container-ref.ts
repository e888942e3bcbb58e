// How CLI commands find the container a user names: a full id, a unique id prefix, or a
// name (the CRI metadata name, which restarts and several pods share).
import { ContainerState, type Container } from "../../cri/api/generated/api.js";
import { shortId } from "./output.js";

export interface ResolvedContainer {
  container: Container;
  /** Set when the name was shared: says which container was picked. */
  note?: string;
}

/** Items whose id equals `ref`, else those whose id starts with it. */
export function matchIdOrPrefix<T>(items: readonly T[], ref: string, idOf: (item: T) => string): T[] {
  if (!ref) return [];
  const exact = items.filter((i) => idOf(i) === ref);
  if (exact.length > 0) return exact;
  return items.filter((i) => idOf(i).startsWith(ref));
}

/**
 * Picks the container `ref` names. An exact id wins; then a name (if several containers
 * share it: the newest running one, else the newest); then a unique id prefix.
 * Returns undefined when nothing matches; throws when an id prefix is ambiguous.
 */
export function findContainer(containers: readonly Container[], ref: string): ResolvedContainer | undefined {
  const exact = containers.find((c) => c.id === ref);
  if (exact) return { container: exact };

  const named = containers.filter((c) => c.metadata?.name === ref);
  if (named.length > 0) {
    const running = named.filter((c) => c.state === ContainerState.CONTAINER_RUNNING);
    const newest = newestFirst(running.length > 0 ? running : named)[0]!;
    if (named.length === 1) return { container: newest };
    const how = newest.state === ContainerState.CONTAINER_RUNNING ? "the newest running one" : "the newest";
    return {
      container: newest,
      note:
        `${named.length} containers are named "${ref}"; using ${how}, ${shortId(newest.id)} ` +
        `(attempt ${newest.metadata?.attempt ?? 0}, pod ${shortId(newest.podSandboxId)})`,
    };
  }

  const prefixed = matchIdOrPrefix(containers, ref, (c) => c.id);
  if (prefixed.length > 1) {
    throw new Error(
      `"${ref}" is the start of ${prefixed.length} container ids (${prefixed.map((c) => shortId(c.id)).join(", ")}): give more of the id`,
    );
  }
  return prefixed[0] ? { container: prefixed[0] } : undefined;
}

/** findContainer, or a clear error when nothing matches. */
export function resolveContainer(containers: readonly Container[], ref: string): ResolvedContainer {
  const found = findContainer(containers, ref);
  if (!found)
    throw new Error(`no container "${ref}": give an id, a unique id prefix or a name (see "berth ps -a")`);
  return found;
}

function newestFirst(containers: Container[]): Container[] {
  return [...containers].sort((a, b) =>
    a.createdAt === b.createdAt ? 0 : a.createdAt > b.createdAt ? -1 : 1,
  );
}
