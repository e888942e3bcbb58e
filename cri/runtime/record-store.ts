// One JSON file per object under a directory, each written atomically. The files are the
// truth; the in-memory maps of the runtime are rebuilt from them at start.
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic, removeFileDurable } from "../../common/atomic-file.js";
import type { Logger } from "../../common/logger.js";
import { parseWithBigInt } from "../../common/json-bigint.js";

export class RecordStore<T extends { id: string }> {
  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  async save(record: T): Promise<void> {
    await writeJsonAtomic(join(this.dir, `${record.id}.json`), record);
  }

  async remove(id: string): Promise<void> {
    await removeFileDurable(join(this.dir, `${id}.json`));
  }

  /** Loads every record; unreadable files (never produced by atomic writes) are set aside and logged. */
  async loadAll(): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const records: T[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.startsWith(".") && name.endsWith(".tmp")) {
        await rm(path, { force: true }); // a write interrupted before its rename
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        records.push(parseWithBigInt<T>(await readFile(path, "utf8")));
      } catch (err) {
        this.logger.error({ path, err }, "unreadable state file ignored");
      }
    }
    return records;
  }
}
