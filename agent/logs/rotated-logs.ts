// The files of one container log after rotation, as the kubelet names them: the current
// `<log>`, and beside it `<log>.<YYYYMMDD-HHMMSS>` (the most recent rotation, still plain) and
// older `<log>.<YYYYMMDD-HHMMSS>.gz`. `.tmp` files are compressions under way or interrupted.
// The rotator and the readers (`berth logs`, `berth explain`) share this one notion of names.
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export const COMPRESSED_SUFFIX = ".gz";
export const TEMP_SUFFIX = ".tmp";

const STAMP = /^(\d{8}-\d{6})(\.gz)?(\.tmp)?$/;

/**
 * "20261206-024501" of a time. UTC rather than the kubelet's local time: names then sort in
 * time order across daylight-saving changes, and reading them needs no time zone.
 */
export function rotationStamp(atMs: number): string {
  const d = new Date(atMs);
  const two = (n: number): string => String(n).padStart(2, "0");
  return (
    `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}-` +
    `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`
  );
}

/** The name the current log is renamed to when it is rotated at `atMs`. */
export function rotatedLogName(log: string, atMs: number): string {
  return `${log}.${rotationStamp(atMs)}`;
}

/** One rotated generation of a log: its plain file, its compressed file, or both (mid-compression). */
export interface RotatedLog {
  stamp: string;
  /** `<log>.<stamp>`, when it exists. */
  plain?: string;
  /** `<log>.<stamp>.gz`, when it exists. */
  compressed?: string;
}

export interface RotatedLogListing {
  /** Oldest first. */
  rotated: RotatedLog[];
  /** `.tmp` files: a compression under way, or one a crash interrupted. */
  temporary: string[];
}

/**
 * What the log's folder holds of its rotations. Names that do not follow the pattern are
 * not the log's and are ignored, as are entries that are not regular files.
 */
export async function listRotatedLogs(log: string): Promise<RotatedLogListing> {
  const dir = dirname(log);
  const prefix = `${basename(log)}.`;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { rotated: [], temporary: [] };
    throw err;
  }
  return classifyRotatedNames(
    log,
    entries.filter((e) => e.isFile() && e.name.startsWith(prefix)).map((e) => e.name),
  );
}

/** listRotatedLogs on a list of names in the log's folder (pure, for tests and callers with a listing). */
export function classifyRotatedNames(log: string, names: readonly string[]): RotatedLogListing {
  const dir = dirname(log);
  const prefix = `${basename(log)}.`;
  const byStamp = new Map<string, RotatedLog>();
  const temporary: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = STAMP.exec(name.slice(prefix.length));
    if (!m) continue;
    const path = join(dir, name);
    if (m[3] !== undefined) {
      temporary.push(path);
      continue;
    }
    const stamp = m[1]!;
    const entry = byStamp.get(stamp) ?? { stamp };
    if (m[2] !== undefined) entry.compressed = path;
    else entry.plain = path;
    byStamp.set(stamp, entry);
  }
  const rotated = [...byStamp.values()].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  return { rotated, temporary: temporary.sort() };
}

/** Every generation of a log, the current file included, as the kubelet's Clean removes them. */
export function allLogFiles(log: string, listing: RotatedLogListing): string[] {
  return [
    log,
    ...listing.rotated.flatMap((r) => [r.plain, r.compressed].filter((p): p is string => p !== undefined)),
    ...listing.temporary,
  ];
}

/** Removes a container's log with its rotated files; missing files are no error. */
export async function removeLogFiles(log: string): Promise<void> {
  for (const file of allLogFiles(log, await listRotatedLogs(log))) await rm(file, { force: true });
}
