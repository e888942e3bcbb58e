// User namespaces for pods (NamespaceOption.userns_options, mode POD): the infra process
// joins the pod's user namespace, made with the requested mapping, and every container joins it
// through /proc/<infra pid>/ns/user, like the other pod namespaces.
//
// The user namespace is made by berth together with the pod's network namespace, which it
// owns (NetnsManager.create): runc joins a user namespace before the others, and may then
// only join a network namespace that namespace owns. Owning it also lets runc mount the
// pod's own sysfs, so /sys needs no bind of the host's.
//
// runc 1.1 has no idmapped mounts, and util-linux 2.38's mount(8) has no X-mount.idmap, so
// the files the mapped root must own are shifted on the host instead: each container's
// rootfs is walked and chowned by the mapping once, through its overlay (which copies every
// file up into the container's upper dir), and the pod's shared files are chowned to the
// mapped root. Files whose owner lies outside the mapping keep it (they show as nobody).
import { lstat, lchown, chmod, opendir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InvalidArgumentError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import {
  NamespaceMode,
  type IDMapping,
  type NamespaceOption,
  type PodSandboxConfig,
} from "../api/generated/api.js";
import type { FeatureSupport } from "./runtime-features.js";

/** One id range, as the OCI runtime spec writes it. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The user namespace of a pod: one uid range and the same gid range, root mapped. */
export interface PodUserNamespace {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

const ID_LIMIT = 2 ** 32;
const NAMESPACE_OPTIONS_FIELD = "config.linux.security_context.namespace_options";
/** How many files are chowned at once while shifting a rootfs. */
const SHIFT_CONCURRENCY = 16;

/**
 * Checks userns_options and returns the pod's user namespace, or undefined for the host's
 * (no options, or mode NODE). `field` names the namespace_options the options came from.
 * Only what runc 1.1 and the kernel honour passes: exactly one uid and one gid mapping,
 * equal, mapping container root, never host root, within 32 bits; and no host namespace
 * next to it (the pod's network, IPC and PID namespaces must belong to its user namespace).
 */
export function podUserNamespace(
  ns: NamespaceOption | undefined,
  field: string,
): PodUserNamespace | undefined {
  const userns = ns?.usernsOptions;
  if (!userns) return undefined;
  const modeField = `${field}.userns_options.mode`;
  if (userns.mode === NamespaceMode.NODE) {
    if (userns.uids.length > 0 || userns.gids.length > 0) {
      throw new InvalidArgumentError(
        `${field}.userns_options.uids`,
        "mappings are not allowed with mode NODE",
      );
    }
    return undefined;
  }
  if (userns.mode !== NamespaceMode.POD) {
    throw new InvalidArgumentError(
      modeField,
      `mode ${NamespaceMode[userns.mode] ?? userns.mode} is not supported: only POD and NODE`,
    );
  }
  const uid = singleMapping(userns.uids, `${field}.userns_options.uids`);
  const gid = singleMapping(userns.gids, `${field}.userns_options.gids`);
  if (uid.hostId !== gid.hostId || uid.containerId !== gid.containerId || uid.length !== gid.length) {
    throw new InvalidArgumentError(
      `${field}.userns_options.gids`,
      "must equal the uid mapping (one shared range for users and groups)",
    );
  }
  for (const [mode, name] of [
    [ns?.network, "network"],
    [ns?.ipc, "ipc"],
    [ns?.pid, "pid"],
  ] as const) {
    if (mode === NamespaceMode.NODE) {
      throw new InvalidArgumentError(
        `${field}.${name}`,
        "a pod in its own user namespace cannot use the host's namespaces",
      );
    }
  }
  const mapping = { containerID: uid.containerId, hostID: uid.hostId, size: uid.length };
  return { uidMappings: [mapping], gidMappings: [{ ...mapping }] };
}

function singleMapping(mappings: IDMapping[], field: string): IDMapping {
  if (mappings.length === 0) throw new InvalidArgumentError(field, "required with mode POD");
  if (mappings.length > 1) {
    throw new InvalidArgumentError(field, `exactly one mapping is supported, got ${mappings.length}`);
  }
  const m = mappings[0]!;
  for (const [value, name] of [
    [m.hostId, "host_id"],
    [m.containerId, "container_id"],
    [m.length, "length"],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value >= ID_LIMIT) {
      throw new InvalidArgumentError(`${field}[0].${name}`, "must be a 32-bit id");
    }
  }
  if (m.containerId !== 0) {
    throw new InvalidArgumentError(`${field}[0].container_id`, "must be 0: the mapping must map root");
  }
  if (m.length === 0) throw new InvalidArgumentError(`${field}[0].length`, "must be at least 1");
  if (m.hostId === 0) {
    throw new InvalidArgumentError(`${field}[0].host_id`, "must not map host root (host id 0)");
  }
  // The last id (2^32-1) is the kernel's "no id": a range may not reach it.
  if (m.hostId + m.length >= ID_LIMIT || m.containerId + m.length >= ID_LIMIT) {
    throw new InvalidArgumentError(`${field}[0].length`, "the range runs past the 32-bit id space");
  }
  return m;
}

/** Whether a container's userns_options ask for the same user namespace as its pod's. */
export function sameUserNamespace(
  pod: PodUserNamespace | undefined,
  container: PodUserNamespace | undefined,
): boolean {
  if (!pod || !container) return pod === container;
  const a = pod.uidMappings[0]!;
  const b = container.uidMappings[0]!;
  return a.hostID === b.hostID && a.containerID === b.containerID && a.size === b.size;
}

/** The host id a container id maps to; ids outside the mapping are left as they are. */
export function shiftId(id: number, mapping: IdMapping): number {
  const offset = id - mapping.containerID;
  return offset >= 0 && offset < mapping.size ? mapping.hostID + offset : id;
}

/** The host uid and gid of the pod's root. */
export function mappedRoot(userns: PodUserNamespace): { uid: number; gid: number } {
  return { uid: shiftId(0, userns.uidMappings[0]!), gid: shiftId(0, userns.gidMappings[0]!) };
}

export interface ShiftResult {
  /** Files, directories and links whose owner changed. */
  shifted: number;
}

/**
 * Chowns every file under `root` (which must hold no other mount) by the pod's mapping, so
 * that its mapped root owns what root owned. Set-user-ID and set-group-ID bits, which chown
 * clears, are restored; file capabilities (security.capability) are lost, as with any chown.
 * Hard links reached twice are chowned once. Meant for a fresh overlay rootfs: through it,
 * every file is copied up to the container's upper dir.
 */
export async function shiftOwnership(root: string, userns: PodUserNamespace): Promise<ShiftResult> {
  const uidMap = userns.uidMappings[0]!;
  const gidMap = userns.gidMappings[0]!;
  /** inode -> the owner it was given, to skip a hard link already shifted. */
  const done = new Map<string, string>();
  let shifted = 0;

  const shiftOne = async (path: string): Promise<boolean> => {
    const info = await lstat(path);
    const key = `${info.dev}:${info.ino}`;
    if (info.nlink > 1 && done.get(key) === `${info.uid}:${info.gid}`) return info.isDirectory();
    const uid = shiftId(info.uid, uidMap);
    const gid = shiftId(info.gid, gidMap);
    if (uid !== info.uid || gid !== info.gid) {
      await lchown(path, uid, gid);
      shifted++;
      // chown drops set-id bits of non-directories; symlinks have none to restore.
      if (!info.isSymbolicLink() && !info.isDirectory() && info.mode & 0o6000) {
        await chmod(path, info.mode & 0o7777);
      }
    }
    if (info.nlink > 1) done.set(key, `${uid}:${gid}`);
    return info.isDirectory();
  };

  // Breadth-first with bounded concurrency: deep or wide trees use neither deep recursion nor
  // unbounded parallel file handles.
  let level = [root];
  await shiftOne(root);
  while (level.length > 0) {
    const next: string[] = [];
    for (const dir of level) {
      const names: string[] = [];
      for await (const entry of await opendir(dir)) names.push(entry.name);
      for (let i = 0; i < names.length; i += SHIFT_CONCURRENCY) {
        const batch = names.slice(i, i + SHIFT_CONCURRENCY).map((n) => join(dir, n));
        const isDir = await Promise.all(batch.map(shiftOne));
        batch.forEach((p, j) => {
          if (isDir[j]) next.push(p);
        });
      }
    }
    level = next;
  }
  return { shifted };
}

/** The user namespace a (validated) sandbox config asks for; undefined for the host's. */
export function podUserNamespaceOf(config: PodSandboxConfig): PodUserNamespace | undefined {
  return sandboxUserns(config);
}

function sandboxUserns(config: PodSandboxConfig): PodUserNamespace | undefined {
  return podUserNamespace(config.linux?.securityContext?.namespaceOptions, NAMESPACE_OPTIONS_FIELD);
}

/**
 * Gives the pod's shared files (hostname, hosts, resolv.conf, the /dev/shm tmpfs) to its
 * mapped root, so that root in the pod may write them as root outside may; no-op without
 * a pod user namespace.
 */
export async function chownPodFilesToMappedRoot(config: PodSandboxConfig, paths: string[]): Promise<void> {
  const userns = sandboxUserns(config);
  if (!userns) return;
  const { uid, gid } = mappedRoot(userns);
  for (const path of paths) await lchown(path, uid, gid);
}

/**
 * Refuses, before anything is made, a pod asking for its own user namespace on a host that
 * cannot give one (the reason is the probe's).
 */
export function requireUserNamespaceSupport(
  config: PodSandboxConfig,
  support: FeatureSupport | undefined,
): void {
  if (!sandboxUserns(config) || support?.supported) return;
  throw new InvalidArgumentError(
    `${NAMESPACE_OPTIONS_FIELD}.userns_options`,
    `this host cannot give pods their own user namespace: ${support?.reason || "not probed"}`,
  );
}

/** Shifts a fresh container rootfs to the pod's user namespace; no-op without one. */
export async function shiftRootfsForPod(
  rootfsPath: string,
  config: PodSandboxConfig,
  log: Logger,
): Promise<void> {
  const userns = sandboxUserns(config);
  if (!userns) return;
  const started = performance.now();
  const { shifted } = await shiftOwnership(rootfsPath, userns);
  log.debug(
    { shifted, ms: Math.round(performance.now() - started) },
    "rootfs ownership shifted to the pod's user namespace",
  );
}

/**
 * Whether this host can give pods their own user namespace. berth runs as root, so the
 * kernel's only limit is user.max_user_namespaces (0 switches user namespaces off). runc 1.1
 * mounts the rootfs and the pod's files from inside the user namespace, where the mapped
 * root is "other" to host-owned directories: every directory above berth's state and run
 * dirs must be searchable by others (mode o+x, e.g. 0711).
 */
export async function probeUserNamespaces(
  dirs: string[],
  maxUserNamespacesPath = "/proc/sys/user/max_user_namespaces",
): Promise<FeatureSupport> {
  let text: string;
  try {
    text = await readFile(maxUserNamespacesPath, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return {
      supported: false,
      reason: `the kernel has no user namespaces (${maxUserNamespacesPath}: ${code})`,
    };
  }
  const max = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(max) || max <= 0) {
    return {
      supported: false,
      reason: `user namespaces are switched off (${maxUserNamespacesPath} is ${text.trim()})`,
    };
  }
  for (const dir of dirs) {
    for (let d = resolve(dir); ; d = dirname(d)) {
      const mode = (await stat(d)).mode;
      if (!(mode & 0o001)) {
        return {
          supported: false,
          reason: `${d} (mode ${(mode & 0o7777).toString(8)}) is not searchable by other users, as a pod's mapped root must be`,
        };
      }
      if (d === dirname(d)) break;
    }
  }
  return { supported: true, reason: "" };
}
