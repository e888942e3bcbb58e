// The `eviction` section of berth's config and its parsing into thresholds. Every kubelet
// signal is a key of each map, so that a misspelt signal is refused as an unknown field; ""
// means no threshold. Values are written as the kubelet's flags write them: a quantity
// ("100Mi", "1000" for inodes or pids) or a percentage of the capacity ("10%").
import { InvalidArgumentError } from "../../common/errors.js";
import { parseBytesSetting, parseDuration } from "../node/quantities.js";
import { KUBELET_SIGNALS, PSI_MEMORY_SIGNAL, SIGNAL_RESOURCE, type KubeletSignal } from "./signals.js";
import type { Threshold, ThresholdValue } from "./thresholds.js";

export type SignalSettings = Record<KubeletSignal, string>;

export interface EvictionConfig {
  /** Evict at once when a signal crosses these (the kubelet's evictionHard). */
  hard: SignalSettings;
  /** Evict when a signal stays across these for its grace period (evictionSoft). */
  soft: SignalSettings;
  /** Go durations ("1m30s"); every soft threshold needs one (evictionSoftGracePeriod). */
  softGracePeriod: SignalSettings;
  /** How far past a threshold a signal must recover before it clears (evictionMinimumReclaim). */
  minimumReclaim: SignalSettings;
  /** Longest termination grace period granted to a pod evicted by a soft threshold (0: killed at once). */
  maxPodGracePeriodSeconds: number;
  /** How long a pressure condition stays after its last observation (Go duration). */
  pressureTransitionPeriod: string;
  /**
   * berth's PSI signal: evict at once when the pods' memory "full" avg10 stays above this
   * percentage (0 switches it off). 40 means every pod task stalled on memory 40% of the time.
   */
  psiMemoryFullAvg10Percent: number;
  /** How often the eviction manager checks, besides after every stats pass. */
  intervalSeconds: number;
}

function signalSettings(values: Partial<SignalSettings> = {}): SignalSettings {
  return Object.fromEntries(KUBELET_SIGNALS.map((s) => [s, values[s] ?? ""])) as SignalSettings;
}

/** The kubelet's defaults: memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%, imagefs.available<15%. */
export function defaultEvictionConfig(): EvictionConfig {
  return {
    hard: signalSettings({
      "memory.available": "100Mi",
      "nodefs.available": "10%",
      "nodefs.inodesFree": "5%",
      "imagefs.available": "15%",
    }),
    soft: signalSettings(),
    softGracePeriod: signalSettings(),
    minimumReclaim: signalSettings(),
    maxPodGracePeriodSeconds: 0,
    pressureTransitionPeriod: "5m",
    psiMemoryFullAvg10Percent: 0,
    intervalSeconds: 10,
  };
}

export interface EvictionPolicy {
  readonly thresholds: readonly Threshold[];
  readonly pressureTransitionPeriodMs: number;
  readonly maxPodGracePeriodSeconds: number;
  readonly intervalMs: number;
}

/** "10%" or a quantity in the signal's unit; undefined for "". */
export function parseThresholdValue(
  text: string,
  signal: KubeletSignal,
  field: string,
): ThresholdValue | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (trimmed.endsWith("%")) {
    const percent = Number(trimmed.slice(0, -1));
    if (!Number.isFinite(percent) || percent < 0 || percent > 100 || trimmed === "%") {
      throw new InvalidArgumentError(field, `"${text}" must be a percentage between 0% and 100%`);
    }
    return { percentage: percent / 100 };
  }
  const resource = SIGNAL_RESOURCE[signal];
  if (resource === "memory" || resource === "ephemeral-storage")
    return { quantity: parseBytesSetting(trimmed, field) };
  const count = Number(trimmed);
  if (!Number.isInteger(count) || count < 0)
    throw new InvalidArgumentError(field, `"${text}" must be a whole number of ${resource} or a percentage`);
  return { quantity: count };
}

/** Checks the section and turns it into thresholds; errors name the field at fault. */
export function parseEvictionConfig(config: EvictionConfig, section = "eviction"): EvictionPolicy {
  const thresholds: Threshold[] = [];
  for (const signal of KUBELET_SIGNALS) {
    const minReclaim = parseThresholdValue(
      config.minimumReclaim[signal],
      signal,
      `${section}: minimumReclaim: ${signal}`,
    );
    const hard = parseThresholdValue(config.hard[signal], signal, `${section}: hard: ${signal}`);
    if (hard) {
      thresholds.push({
        signal,
        operator: "LessThan",
        value: hard,
        gracePeriodMs: 0,
        ...(minReclaim && { minReclaim }),
      });
    }
    const soft = parseThresholdValue(config.soft[signal], signal, `${section}: soft: ${signal}`);
    const graceText = config.softGracePeriod[signal];
    const graceField = `${section}: softGracePeriod: ${signal}`;
    if (soft) {
      if (graceText.trim() === "")
        throw new InvalidArgumentError(graceField, "a soft threshold needs a grace period");
      const gracePeriodMs = parseDuration(graceText, graceField);
      if (!(gracePeriodMs > 0)) throw new InvalidArgumentError(graceField, "must be longer than 0s");
      thresholds.push({
        signal,
        operator: "LessThan",
        value: soft,
        gracePeriodMs,
        ...(minReclaim && { minReclaim }),
      });
    } else if (graceText.trim() !== "") {
      throw new InvalidArgumentError(graceField, "is set but there is no soft threshold for this signal");
    }
  }
  const psi = config.psiMemoryFullAvg10Percent;
  if (!Number.isFinite(psi) || psi < 0 || psi > 100) {
    throw new InvalidArgumentError(
      `${section}: psiMemoryFullAvg10Percent`,
      "must be between 0 (off) and 100",
    );
  }
  if (psi > 0)
    thresholds.push({
      signal: PSI_MEMORY_SIGNAL,
      operator: "GreaterThan",
      value: { quantity: psi },
      gracePeriodMs: 0,
    });
  const maxPodGracePeriodSeconds = config.maxPodGracePeriodSeconds;
  if (!Number.isInteger(maxPodGracePeriodSeconds) || maxPodGracePeriodSeconds < 0) {
    throw new InvalidArgumentError(
      `${section}: maxPodGracePeriodSeconds`,
      "must be a whole number of seconds, 0 or more",
    );
  }
  if (!(config.intervalSeconds > 0) || !Number.isFinite(config.intervalSeconds)) {
    throw new InvalidArgumentError(`${section}: intervalSeconds`, "must be a positive number of seconds");
  }
  return {
    thresholds,
    pressureTransitionPeriodMs: parseDuration(
      config.pressureTransitionPeriod,
      `${section}: pressureTransitionPeriod`,
    ),
    maxPodGracePeriodSeconds,
    intervalMs: config.intervalSeconds * 1000,
  };
}
