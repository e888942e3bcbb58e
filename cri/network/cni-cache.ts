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

  /** Every attachment of a container on an interface, whatever network it was made on. */
  async find(containerId: string, ifName: string): Promise<AttachmentRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.resultsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const suffix = `-${containerId}-${ifName}`;
    const records: AttachmentRecord[] = [];
    for (const name of names.filter((n) => n.endsWith(suffix) && !n.startsWith("."))) {
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
