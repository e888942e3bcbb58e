// In-memory index of sandboxes and containers, rebuilt from the record files at start,
// with the name reservations that make CRI names unique (ALREADY_EXISTS on a duplicate).
import { AlreadyExistsError } from "../../common/errors.js";
import type { ContainerRecord, SandboxRecord } from "./records.js";

export class Registry {
  readonly sandboxes = new Map<string, SandboxRecord>();
  readonly containers = new Map<string, ContainerRecord>();
  private readonly names = new Map<string, string>();

  reserveName(kind: string, name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder !== undefined && holder !== id) throw new AlreadyExistsError(kind, name, holder);
    this.names.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  /** A sandbox by full id or unique id prefix. */
  findSandbox(idOrPrefix: string): SandboxRecord | undefined {
    return findByPrefix(this.sandboxes, idOrPrefix);
  }

  /** A container by full id or unique id prefix. */
  findContainer(idOrPrefix: string): ContainerRecord | undefined {
    return findByPrefix(this.containers, idOrPrefix);
  }

  containersOf(sandboxId: string): ContainerRecord[] {
    return [...this.containers.values()].filter((c) => c.sandboxId === sandboxId);
  }
}

function findByPrefix<T>(map: Map<string, T>, idOrPrefix: string): T | undefined {
  if (!idOrPrefix) return undefined;
  const exact = map.get(idOrPrefix);
  if (exact) return exact;
  let found: T | undefined;
  for (const [id, value] of map) {
    if (!id.startsWith(idOrPrefix)) continue;
    if (found) return undefined; // ambiguous prefix: treat as unknown
    found = value;
  }
  return found;
}
