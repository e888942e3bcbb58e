// The record of each attachment berth made: which network config ran, with which
// arguments, and what it returned. DEL and CHECK replay exactly that, so a pod set up under
// one config is torn down correctly after the conf dir changed, and after an agent restart.
// One file per (network, container id, interface) under <cacheDir>/results, written
// atomically; an entry is saved before ADD starts, so a crash in the middle of ADD still
// leaves enough to undo it.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { readJsonIfExists, removeFileDurable, writeJsonAtomic } from "../../common/atomic-file.js";
import { RuntimeFailureError } from "../../common/errors.js";
import type { CapabilityArgs, CniArgPairs } from "./cni-args.js";
import type { NetworkConfigList } from "./cni-config.js";

export const CACHE_KIND = "berthCniCacheV1";

export interface AttachmentRecord {
  kind: typeof CACHE_KIND;
  networkName: string;
  containerId: string;
  ifName: string;
  netnsPath: string;
  network: NetworkConfigList;
  cniArgs: CniArgPairs;
  capabilityArgs: CapabilityArgs;
  /** "adding" until every plugin's ADD has succeeded; then the result is known. */
  state: "adding" | "added";
  result?: unknown;
}

export class AttachmentCache {
  private readonly resultsDir: string;

  constructor(cacheDir: string) {
    this.resultsDir = join(cacheDir, "results");
  }

  pathOf(networkName: string, containerId: string, ifName: string): string {
    return join(this.resultsDir, `${networkName}-${containerId}-${ifName}`);
  }

  async save(record: AttachmentRecord): Promise<void> {
    await writeJsonAtomic(this.pathOf(record.networkName, record.containerId, record.ifName), record);
  }

  async remove(record: AttachmentRecord): Promise<void> {
    await removeFileDurable(this.pathOf(record.networkName, record.containerId, record.ifName));
  }

  /** Container ids of every attachment recorded, whatever its network and interface. */
  async containerIds(): Promise<string[]> {
    const ids = new Set<string>();
    for (const name of await this.entryNames()) {
      const path = join(this.resultsDir, name);
      const record = await readJsonIfExists<AttachmentRecord>(path).catch(() => undefined);
      if (record?.kind === CACHE_KIND && typeof record.containerId === "string") ids.add(record.containerId);
    }
    return [...ids];
  }

  private async entryNames(): Promise<string[]> {
    try {
      return (await readdir(this.resultsDir)).filter((n) => !n.startsWith("."));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  /** Every attachment of a container on an interface, whatever network it was made on. */
  async find(containerId: string, ifName: string): Promise<AttachmentRecord[]> {
    const names = await this.entryNames();
    const suffix = `-${containerId}-${ifName}`;
    const records: AttachmentRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(suffix))) {
      const path = join(this.resultsDir, name);
      let record: AttachmentRecord | undefined;
      try {
        record = await readJsonIfExists<AttachmentRecord>(path);
      } catch (err) {
        throw new RuntimeFailureError(`reading CNI cache ${path}: ${(err as Error).message}`);
      }
      // A network name may end in "-<id>" of another container; the record says whose it is.
      if (record?.kind === CACHE_KIND && record.containerId === containerId && record.ifName === ifName) {
        records.push(record);
      }
    }
    return records;
  }
}
