// When a container log is rotated and what happens to its older files, as the kubelet's
// container log manager decides it: a log at or past containerLogMaxSize is renamed to
// `<log>.<stamp>`; before that, leftovers of interrupted rotations go, the oldest rotated
// files go so that at most containerLogMaxFiles remain counting the current one and the one
// about to be rotated, and every remaining plain rotated file is compressed. So the most
// recent rotated file stays plain (a reader or shipper may still be finishing it) and all
// older ones are `.gz`. Pure: the manager carries the plan out.
import { InvalidArgumentError } from "../../common/errors.js";
import { parseDuration } from "../node/quantities.js";
import { parseQuantity, quantityToBytes } from "../podspec/quantity.js";
import { rotationStamp, type RotatedLogListing } from "./rotated-logs.js";

export interface LogRotatePolicy {
  /** Rotate once the current file has this many bytes. */
  maxSizeBytes: number;
  /** Files kept per container log, the current one included (2 or more). */
  maxFiles: number;
}

/** The config fields, with the kubelet's names. */
export interface ContainerLogConfig {
  /** A quantity: "10Mi". */
  containerLogMaxSize: string;
  containerLogMaxFiles: number;
  /** A duration: "10s". How often running containers' logs are checked. */
  containerLogMonitorInterval: string;
}

export const defaultContainerLogConfig = (): ContainerLogConfig => ({
  containerLogMaxSize: "10Mi",
  containerLogMaxFiles: 5,
  containerLogMonitorInterval: "10s",
});

/** The kubelet's lower bound on the monitor interval. */
const MIN_MONITOR_INTERVAL_MS = 3000;

/** Validates the config fields (InvalidArgumentError naming the field) and returns the policy and interval. */
export function parseContainerLogConfig(config: ContainerLogConfig): {
  policy: LogRotatePolicy;
  intervalMs: number;
} {
  const maxSizeBytes = quantityToBytes(parseQuantity(config.containerLogMaxSize, "containerLogMaxSize"));
  if (!(maxSizeBytes > 0)) throw new InvalidArgumentError("containerLogMaxSize", "must be more than 0");
  const maxFiles = config.containerLogMaxFiles;
  if (!Number.isInteger(maxFiles) || maxFiles < 2)
    throw new InvalidArgumentError("containerLogMaxFiles", "must be a whole number, 2 or more");
  const intervalMs = parseDuration(config.containerLogMonitorInterval, "containerLogMonitorInterval");
  if (intervalMs < MIN_MONITOR_INTERVAL_MS)
    throw new InvalidArgumentError("containerLogMonitorInterval", "must be 3s or more");
  return { policy: { maxSizeBytes, maxFiles }, intervalMs };
}

/** The kubelet rotates at the size, not only past it. */
export function needsRotation(sizeBytes: number, policy: LogRotatePolicy): boolean {
  return sizeBytes >= policy.maxSizeBytes;
}

export interface RotationPlan {
  /** Leftovers of interrupted rotations, then the oldest rotated files: deleted first. */
  remove: string[];
  /** Plain rotated files to compress to `<file>.gz`, oldest first. */
  compress: string[];
  /**
   * Where the current log goes; undefined when a rotation at this same second already exists
   * (renaming onto it would destroy it): the rotation waits for the next check.
   */
  rotateTo: string | undefined;
}

export function planRotation(
  log: string,
  listing: RotatedLogListing,
  policy: LogRotatePolicy,
  nowMs: number,
): RotationPlan {
  const remove = [...listing.temporary];
  // A plain file whose .gz exists was compressed but not yet deleted: the .gz is the one kept.
  const generations = listing.rotated.map((r) => {
    if (r.compressed !== undefined && r.plain !== undefined) remove.push(r.plain);
    return r.compressed !== undefined
      ? { stamp: r.stamp, path: r.compressed, compressed: true }
      : {
          stamp: r.stamp,
          path: r.plain as string,
          compressed: false,
        };
  });
  // The current file and the one about to be rotated take two of the places.
  const keepRotated = Math.max(0, policy.maxFiles - 2);
  const excess = Math.max(0, generations.length - keepRotated);
  remove.push(...generations.slice(0, excess).map((g) => g.path));
  const kept = generations.slice(excess);
  const stamp = rotationStamp(nowMs);
  const collides = listing.rotated.some((r) => r.stamp === stamp);
  return {
    remove,
    compress: kept.filter((g) => !g.compressed).map((g) => g.path),
    rotateTo: collides ? undefined : `${log}.${stamp}`,
  };
}
