// Reading and writing cgroup interface files. Absent files are normal (a controller not
// enabled, an older kernel, the root cgroup), so reads return undefined for them; writes
// never create files, exactly as on cgroupfs, so fixture trees catch writes to files the
// kernel would not have.
import { constants } from "node:fs";
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeFailureError,
} from "../common/errors.js";

export function errnoCode(err: unknown): string | undefined {
  if (err instanceof Error && "code" in err && typeof err.code === "string") return err.code;
  return undefined;
}

export async function readOptionalFile(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
}

export async function dirExists(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return false;
    throw err;
  }
}

/** Throws NotFoundError("cgroup", path) unless `dir` exists; `path` is how the caller named it. */
export async function requireCgroupDir(dir: string, path: string): Promise<void> {
  if (!(await dirExists(dir))) throw new NotFoundError("cgroup", path);
}

/** Writes one value the way the kernel expects it: one write(2), no O_CREAT. */
export async function writeCgroupFile(dir: string, name: string, value: string): Promise<void> {
  const file = join(dir, name);
  let handle;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_TRUNC);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") {
      if (!(await dirExists(dir))) throw new NotFoundError("cgroup", dir);
      throw new FailedPreconditionError(`${file} does not exist: is the controller enabled for this cgroup?`);
    }
    throw new RuntimeFailureError(`cannot open ${file}: ${String(err)}`);
  }
  try {
    await handle.write(value);
  } catch (err) {
    if (errnoCode(err) === "EINVAL")
      throw new InvalidArgumentError(name, `kernel rejected ${JSON.stringify(value)}`);
    throw new RuntimeFailureError(`cannot write ${JSON.stringify(value)} to ${file}: ${String(err)}`);
  } finally {
    await handle.close();
  }
}
