// The manifest files of the static pods folder: regular files (or links to them) named
// *.yaml, *.yml or *.json; hidden files are skipped, as editors leave swap files there.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

const MANIFEST_NAME = /^[^.].*\.(ya?ml|json)$/i;

export interface ManifestFile {
  path: string;
  text: string;
}

export type ManifestFolderRead =
  | { ok: true; files: ManifestFile[]; unreadable: { path: string; error: string }[] }
  | { ok: false; missing: boolean; error: string };

/** Reads every manifest of the folder, in name order. */
export async function readManifestFolder(dir: string): Promise<ManifestFolderRead> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => MANIFEST_NAME.test(n)).sort();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, missing: e.code === "ENOENT", error: e.message };
  }
  const files: ManifestFile[] = [];
  const unreadable: { path: string; error: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (!(await stat(path)).isFile()) continue;
      files.push({ path, text: await readFile(path, "utf8") });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      // Removed between listing and reading: simply gone.
      if (e.code === "ENOENT") continue;
      unreadable.push({ path, error: e.message });
    }
  }
  return { ok: true, files, unreadable };
}
