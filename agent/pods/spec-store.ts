// Specs applied through the API, one JSON file per pod, written atomically, so that the pods
// an orchestrator handed over come back after an agent restart. (Static pods come back from
// their manifest files and are not stored here.)
import { readdir } from "node:fs/promises";
import { readJsonIfExists, removeFileDurable, writeJsonAtomic } from "../../common/atomic-file.js";
import type { Logger } from "../../common/logger.js";
import type { PodSpec } from "../podspec/types.js";
import type { PodPaths } from "./pod-paths.js";

const STORE_VERSION = 1;

interface StoredSpec {
  version: number;
  spec: PodSpec;
}

export class SpecStore {
  constructor(
    private readonly paths: PodPaths,
    private readonly logger: Logger,
  ) {}

  async save(spec: PodSpec): Promise<void> {
    const stored: StoredSpec = { version: STORE_VERSION, spec };
    await writeJsonAtomic(this.paths.specFile(spec.metadata.uid), stored);
  }

  async remove(uid: string): Promise<void> {
    await removeFileDurable(this.paths.specFile(uid));
  }

  /** Every stored spec; unreadable files are logged and skipped, never fatal. */
  async loadAll(): Promise<PodSpec[]> {
    const dir = this.paths.roots.specsDir;
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return [] as string[];
      throw err;
    });
    const specs: PodSpec[] = [];
    for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
      const uid = name.slice(0, -".json".length);
      try {
        const stored = await readJsonIfExists<StoredSpec>(this.paths.specFile(uid));
        if (stored?.version === STORE_VERSION && stored.spec.metadata.uid === uid) specs.push(stored.spec);
        else this.logger.warn({ file: name }, "ignoring a stored pod spec of an unknown format");
      } catch (err) {
        this.logger.error({ err, file: name }, "ignoring an unreadable stored pod spec");
      }
    }
    return specs;
  }
}
