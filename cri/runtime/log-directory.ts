// A pod's log directory is a path on the node that berth creates and conmon writes into.
// It must be a plain directory on a real filesystem: creating directories under /proc or
// /sys can loop forever (Node's recursive mkdir does on /proc/<pid>/fdinfo/x), and a log
// written there is meaningless. Checked before the sandbox makes anything.
import { stat, statfs } from "node:fs/promises";
import { dirname, posix } from "node:path";
import { echo, InvalidArgumentError } from "../../common/errors.js";

/** Trees of kernel pseudo files, refused by prefix before anything on the host is looked at. */
const PSEUDO_TREES = ["/proc", "/sys", "/dev"];

/** statfs f_type of filesystems that hold no ordinary files (linux/magic.h). */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, "proc"],
  [0x62656572, "sysfs"],
  [0x1cd1, "devpts"],
  [0x27e0eb, "cgroup"],
  [0x63677270, "cgroup2"],
  [0x64626720, "debugfs"],
  [0x74726163, "tracefs"],
  [0x73636673, "securityfs"],
  [0xcafe4a11, "bpf"],
  [0x62656570, "configfs"],
  [0x6165676c, "pstore"],
  [0xde5e81e4, "efivarfs"],
  [0x42494e4d, "binfmt_misc"],
  [0x6e736673, "nsfs"],
  [0x19800202, "mqueue"],
  [0xf97cff8c, "selinuxfs"],
  [0x65735543, "fusectl"],
]);

/**
 * The checks that need only the path: absolute, clean (as path.normalize leaves it, no
 * trailing slash), not the root and not inside /proc, /sys or /dev.
 */
export function checkLogDirectoryPath(path: string, field: string): void {
  const shown = `"${echo(path)}"`;
  if (path.includes("\0")) throw new InvalidArgumentError(field, "contains a NUL byte");
  if (!path.startsWith("/")) throw new InvalidArgumentError(field, `${shown} is not an absolute path`);
  if (posix.normalize(path) !== path || (path.length > 1 && path.endsWith("/"))) {
    throw new InvalidArgumentError(
      field,
      `${shown} is not a clean path (no "..", "." or doubled or trailing "/")`,
    );
  }
  if (path === "/") throw new InvalidArgumentError(field, "must not be the root directory");
  const tree = PSEUDO_TREES.find((t) => path === t || path.startsWith(`${t}/`));
  if (tree)
    throw new InvalidArgumentError(field, `${shown} is inside ${tree}, which holds no ordinary files`);
}

/**
 * The checks that look at the host: the path, or its nearest existing ancestor, is a
 * directory on an ordinary filesystem (symlinks followed, as mkdir will follow them).
 */
export async function checkLogDirectoryOnHost(path: string, field: string): Promise<void> {
  checkLogDirectoryPath(path, field);
  let existing = path;
  for (;;) {
    try {
      const info = await stat(existing);
      if (!info.isDirectory()) {
        const what =
          existing === path
            ? "exists and is not a directory"
            : `is below ${echo(existing)}, which is not a directory`;
        throw new InvalidArgumentError(field, `"${echo(path)}" ${what}`);
      }
      break;
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") {
        throw new InvalidArgumentError(field, `"${echo(path)}" is below a file, not a directory`);
      }
      if (code !== "ENOENT" || existing === "/") {
        throw new InvalidArgumentError(field, `"${echo(path)}" cannot be used (${code ?? String(err)})`);
      }
      existing = dirname(existing);
    }
  }
  const fsType = PSEUDO_FILESYSTEMS.get(Number((await statfs(existing)).type) >>> 0);
  if (fsType !== undefined) {
    throw new InvalidArgumentError(
      field,
      `"${echo(path)}" is on a ${fsType} filesystem, which holds no ordinary files`,
    );
  }
}

/** A container's log file: its directory as checkLogDirectoryOnHost checks it, and no directory itself. */
export async function checkLogFileOnHost(path: string, field: string): Promise<void> {
  await checkLogDirectoryOnHost(dirname(path), field);
  const info = await stat(path).catch(() => undefined);
  if (info !== undefined && !info.isFile()) {
    throw new InvalidArgumentError(field, `"${echo(path)}" exists and is not a regular file`);
  }
}
