// What this host's kernel and runc can do beyond the basics, probed once when the runtime
// starts and cached: the CRI Status advertises exactly this, and container creation refuses
// a request for something the host cannot do instead of silently doing less.
import { release } from "node:os";
import { execa } from "execa";
import { commandErrorText } from "../../common/command-error.js";

export interface FeatureSupport {
  readonly supported: boolean;
  /** Why not, in words an operator can act on; "" when supported. */
  readonly reason: string;
}

/** mount_setattr(2), which makes a bind mount read-only with all its sub-mounts, came in 5.12. */
const MOUNT_SETATTR_KERNEL: readonly [number, number] = [5, 12];
const PROBE_TIMEOUT_MS = 10_000;

/** "6.1.0-18-amd64" -> [6, 1]; undefined when the release does not start with a version. */
export function kernelVersion(kernelRelease: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(kernelRelease);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** The mount options `runc features` lists, or undefined when its output is not a features document. */
export function runcMountOptions(featuresJson: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(featuresJson);
  } catch {
    return undefined;
  }
  const options = (parsed as { mountOptions?: unknown } | null)?.mountOptions;
  if (!Array.isArray(options)) return undefined;
  return options.filter((o): o is string => typeof o === "string");
}

/**
 * Recursive read-only bind mounts need both: runc's "rro" mount option (which it applies
 * with mount_setattr and fails on without) and a kernel that has mount_setattr.
 * `runcFeatures` is the output of `runc features`, undefined when the command failed.
 */
export function recursiveReadOnlySupport(
  runcFeatures: string | undefined,
  kernelRelease: string,
  runcFailure = "",
): FeatureSupport {
  if (runcFeatures === undefined) {
    return {
      supported: false,
      reason: `runc cannot report its features (runc 1.1 or later has "runc features")${runcFailure ? `: ${runcFailure}` : ""}`,
    };
  }
  const options = runcMountOptions(runcFeatures);
  if (!options) return { supported: false, reason: '"runc features" did not list any mount options' };
  if (!options.includes("rro"))
    return { supported: false, reason: 'runc does not know the "rro" mount option' };
  const version = kernelVersion(kernelRelease);
  const [major, minor] = MOUNT_SETATTR_KERNEL;
  if (!version || version[0] < major || (version[0] === major && version[1] < minor)) {
    return {
      supported: false,
      reason: `kernel ${kernelRelease} has no mount_setattr(2) (needs ${major}.${minor} or later)`,
    };
  }
  return { supported: true, reason: "" };
}

/** Asks runc for its features and combines them with the running kernel's version. */
export async function probeRecursiveReadOnly(
  runcBinary: string,
  kernelRelease = release(),
): Promise<FeatureSupport> {
  try {
    const { stdout } = await execa(runcBinary, ["features"], { timeout: PROBE_TIMEOUT_MS });
    return recursiveReadOnlySupport(stdout, kernelRelease);
  } catch (err) {
    return recursiveReadOnlySupport(undefined, kernelRelease, commandErrorText(err));
  }
}
