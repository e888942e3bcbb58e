// Turns the user a container asks for (image "User", or run_as_user / run_as_username /
// run_as_group of its security context) into numeric ids, with the container's own
// /etc/passwd and /etc/group. Those files belong to the image, so every symlink on the way
// is resolved as if the rootfs were "/": an image cannot make berth read a host file.
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readlink } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../../common/errors.js";

export interface UserRequest {
  /** Image "User": "name", "uid", "name:group", "uid:gid" (or mixed); empty means root. */
  user?: string;
  runAsUser?: number;
  runAsUsername?: string;
  runAsGroup?: number;
  supplementalGroups?: number[];
  /** SupplementalGroupsPolicy Strict: ignore the image's /etc/group memberships. */
  strictSupplementalGroups?: boolean;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The primary gid first, then /etc/group memberships, then the requested groups. */
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 0xfffffffe; // (uid_t)-1 means "no change" to the kernel
const MAX_ACCOUNT_FILE_BYTES = 16 * 1024 * 1024;
const MAX_SYMLINK_HOPS = 40;

export const IMAGE_USER_FIELD = "image.config.User";
export const RUN_AS_USERNAME_FIELD = "config.linux.security_context.run_as_username";

/**
 * Resolves `target` (absolute, inside the container) to a host path under `rootfs`,
 * following symlinks with `rootfs` as their root. Returns undefined when some component
 * does not exist.
 */
export async function resolveInRootfs(rootfs: string, target: string): Promise<string | undefined> {
  const pending = target.split("/").filter((c) => c !== "");
  const resolved: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const component = pending.shift() as string;
    if (component === ".") continue;
    if (component === "..") {
      resolved.pop();
      continue;
    }
    const candidate = join(rootfs, ...resolved, component);
    let isLink: boolean;
    try {
      isLink = (await lstat(candidate)).isSymbolicLink();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    if (!isLink) {
      resolved.push(component);
      continue;
    }
    if (++hops > MAX_SYMLINK_HOPS)
      throw new Error(`${target}: too many levels of symbolic links in ${rootfs}`);
    const link = await readlink(candidate);
    if (link.startsWith("/")) resolved.length = 0;
    pending.unshift(...link.split("/").filter((c) => c !== ""));
  }
  return join(rootfs, ...resolved);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Reads a regular file of the container's filesystem; undefined when it is absent. */
export async function readFileInRootfs(
  rootfs: string,
  target: string,
  maxBytes = MAX_ACCOUNT_FILE_BYTES,
): Promise<string | undefined> {
  const hostPath = await resolveInRootfs(rootfs, target);
  if (hostPath === undefined) return undefined;
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: the last component was checked above; refuse one swapped in since.
    handle = await open(hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === "ELOOP") return undefined;
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    if (info.size > maxBytes) throw new Error(`${target} in ${rootfs} is larger than ${maxBytes} bytes`);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, , uidText, gidText] = line.split(":");
    if (!name || uidText === undefined || gidText === undefined) continue;
    const uid = parseId(uidText);
    const gid = parseId(gidText);
    if (uid === undefined || gid === undefined) continue;
    entries.push({ name, uid, gid });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const [name, , gidText, memberText] = line.split(":");
    if (!name || gidText === undefined) continue;
    const gid = parseId(gidText);
    if (gid === undefined) continue;
    const members = (memberText ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter((m) => m !== "");
    entries.push({ name, gid, members });
  }
  return entries;
}

class AccountFiles {
  private passwd?: PasswdEntry[];
  private group?: GroupEntry[];
  constructor(private readonly rootfs: string) {}

  async users(): Promise<PasswdEntry[]> {
    this.passwd ??= parsePasswd((await readFileInRootfs(this.rootfs, "/etc/passwd")) ?? "");
    return this.passwd;
  }

  async groups(): Promise<GroupEntry[]> {
    this.group ??= parseGroup((await readFileInRootfs(this.rootfs, "/etc/group")) ?? "");
    return this.group;
  }
}

function checkId(id: number, field: string): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new InvalidArgumentError(field, `${id} is not a valid user or group id`);
  }
  return id;
}

export async function resolveUser(rootfs: string, spec: UserRequest): Promise<ResolvedUser> {
  const files = new AccountFiles(rootfs);
  let uid: number;
  let gid: number | undefined;
  let entry: PasswdEntry | undefined;

  if (spec.runAsUser !== undefined) {
    uid = checkId(spec.runAsUser, "config.linux.security_context.run_as_user");
    entry = (await files.users()).find((u) => u.uid === uid);
  } else if (spec.runAsUsername) {
    const name = spec.runAsUsername;
    entry = (await files.users()).find((u) => u.name === name);
    if (!entry)
      throw new InvalidArgumentError(RUN_AS_USERNAME_FIELD, `no user "${name}" in the image's /etc/passwd`);
    uid = entry.uid;
  } else {
    const imageUser = spec.user ?? "";
    const separator = imageUser.indexOf(":");
    const userPart = separator < 0 ? imageUser : imageUser.slice(0, separator);
    const groupPart = separator < 0 ? "" : imageUser.slice(separator + 1);
    if (userPart === "") {
      uid = 0;
      entry = (await files.users()).find((u) => u.uid === 0);
    } else {
      const numeric = parseId(userPart);
      entry = (await files.users()).find((u) =>
        numeric === undefined ? u.name === userPart : u.uid === numeric,
      );
      if (numeric === undefined && !entry) {
        throw new InvalidArgumentError(IMAGE_USER_FIELD, `no user "${userPart}" in the image's /etc/passwd`);
      }
      uid = numeric ?? (entry as PasswdEntry).uid;
    }
    if (groupPart !== "") gid = await resolveGroup(files, groupPart);
  }

  if (spec.runAsGroup !== undefined)
    gid = checkId(spec.runAsGroup, "config.linux.security_context.run_as_group");
  const primaryGid = gid ?? entry?.gid ?? 0;

  const additional: number[] = [primaryGid];
  if (!spec.strictSupplementalGroups && entry) {
    const name = entry.name;
    for (const group of await files.groups()) {
      if (group.members.includes(name)) additional.push(group.gid);
    }
  }
  for (const extra of spec.supplementalGroups ?? []) {
    additional.push(checkId(extra, "config.linux.security_context.supplemental_groups"));
  }
  return { uid, gid: primaryGid, additionalGids: [...new Set(additional)] };
}

async function resolveGroup(files: AccountFiles, groupPart: string): Promise<number> {
  const numeric = parseId(groupPart);
  if (numeric !== undefined) return numeric;
  const group = (await files.groups()).find((g) => g.name === groupPart);
  if (!group)
    throw new InvalidArgumentError(IMAGE_USER_FIELD, `no group "${groupPart}" in the image's /etc/group`);
  return group.gid;
}
