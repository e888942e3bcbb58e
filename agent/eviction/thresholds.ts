// Eviction thresholds and the kubelet's rules for them, as pure functions of observations and
// time: when a threshold is met, how minimum reclaim keeps it met until the signal recovers
// past it, how soft thresholds wait out their grace period, and how node pressure conditions
// stay reported for the pressure transition period after the last observation.
import { formatBytes } from "../node/quantities.js";
import {
  PSI_MEMORY_SIGNAL,
  SIGNAL_CONDITION,
  SIGNAL_RESOURCE,
  type EvictionSignal,
  type Observations,
  type PressureCondition,
} from "./signals.js";

/** An absolute amount (bytes, inodes, pids, percent for PSI) or a fraction of the capacity. */
export type ThresholdValue = { readonly quantity: number } | { readonly percentage: number };

export interface Threshold {
  readonly signal: EvictionSignal;
  /** LessThan for every kubelet signal (available below the value); GreaterThan for PSI. */
  readonly operator: "LessThan" | "GreaterThan";
  readonly value: ThresholdValue;
  /** 0 for a hard threshold, which acts at once. */
  readonly gracePeriodMs: number;
  /** Once met, the signal must recover this far past the value before the threshold clears. */
  readonly minReclaim?: ThresholdValue;
}

/** Identity of a threshold: one hard and one soft threshold per signal at most. */
export function thresholdKey(threshold: Threshold): string {
  return `${threshold.signal}/${threshold.gracePeriodMs === 0 ? "hard" : "soft"}`;
}

export function isHardThreshold(threshold: Threshold): boolean {
  return threshold.gracePeriodMs === 0;
}

/** The value in the signal's units; a percentage of the capacity truncates as the kubelet's int64 does. */
export function thresholdQuantity(value: ThresholdValue, capacity: number): number {
  return "quantity" in value ? value.quantity : Math.trunc(capacity * value.percentage);
}

/**
 * Whether the observation meets the threshold. With `enforceMinReclaim`, the bar is raised
 * (lowered for PSI) by the minimum reclaim, as the kubelet does for thresholds already met.
 * An unobserved signal never meets a threshold.
 */
export function isThresholdMet(
  threshold: Threshold,
  observations: Observations,
  enforceMinReclaim: boolean,
): boolean {
  const observed = observations.get(threshold.signal);
  if (!observed) return false;
  const quantity = thresholdQuantity(threshold.value, observed.capacity);
  const reclaim =
    enforceMinReclaim && threshold.minReclaim
      ? thresholdQuantity(threshold.minReclaim, observed.capacity)
      : 0;
  return threshold.operator === "LessThan"
    ? quantity + reclaim > observed.available
    : observed.available > quantity - reclaim;
}

export function thresholdsMet(
  thresholds: readonly Threshold[],
  observations: Observations,
  enforceMinReclaim: boolean,
): Threshold[] {
  return thresholds.filter((t) => isThresholdMet(t, observations, enforceMinReclaim));
}

/** Union by identity, first list first. */
export function mergeThresholds(a: readonly Threshold[], b: readonly Threshold[]): Threshold[] {
  const merged = [...a];
  const keys = new Set(a.map(thresholdKey));
  for (const t of b) if (!keys.has(thresholdKey(t))) merged.push(t);
  return merged;
}

/** When each met threshold was first seen met: kept from before, else now. */
export function thresholdsFirstObservedAt(
  met: readonly Threshold[],
  previous: ReadonlyMap<string, number>,
  nowMs: number,
): Map<string, number> {
  const result = new Map<string, number>();
  for (const t of met) {
    const key = thresholdKey(t);
    result.set(key, previous.get(key) ?? nowMs);
  }
  return result;
}

/** The met thresholds whose grace period is over (hard ones at once). */
export function thresholdsPastGracePeriod(
  met: readonly Threshold[],
  firstObservedAt: ReadonlyMap<string, number>,
  nowMs: number,
): Threshold[] {
  return met.filter((t) => nowMs - (firstObservedAt.get(thresholdKey(t)) ?? nowMs) >= t.gracePeriodMs);
}

export function pressureConditions(met: readonly Threshold[]): Set<PressureCondition> {
  return new Set(met.map((t) => SIGNAL_CONDITION[t.signal]));
}

/** When each condition was last seen: now for those observed now, else as before. */
export function conditionsLastObservedAt(
  observedNow: ReadonlySet<PressureCondition>,
  previous: ReadonlyMap<PressureCondition, number>,
  nowMs: number,
): Map<PressureCondition, number> {
  const result = new Map(previous);
  for (const condition of observedNow) result.set(condition, nowMs);
  return result;
}

/** The conditions to report: those seen within the transition period, so a node does not flap. */
export function conditionsWithinTransitionPeriod(
  lastObservedAt: ReadonlyMap<PressureCondition, number>,
  transitionPeriodMs: number,
  nowMs: number,
): Set<PressureCondition> {
  const result = new Set<PressureCondition>();
  for (const [condition, at] of lastObservedAt) if (nowMs - at < transitionPeriodMs) result.add(condition);
  return result;
}

/**
 * The kubelet's order of attention: memory signals first, signals without a reclaimable
 * resource last, the rest as configured (a stable sort).
 */
export function byEvictionPriority(thresholds: readonly Threshold[]): Threshold[] {
  const rank = (t: Threshold): number => (SIGNAL_RESOURCE[t.signal] === "memory" ? 0 : 1);
  return [...thresholds].sort((a, b) => rank(a) - rank(b));
}

/** The threshold as the kubelet's flags write it: "memory.available<100Mi", "nodefs.available<10%". */
export function describeThreshold(threshold: Threshold): string {
  const op = threshold.operator === "LessThan" ? "<" : ">";
  return `${threshold.signal}${op}${describeValue(threshold.signal, threshold.value)}`;
}

export function describeValue(signal: EvictionSignal, value: ThresholdValue): string {
  if ("percentage" in value) return `${Math.round(value.percentage * 10_000) / 100}%`;
  return formatSignalAmount(signal, value.quantity);
}

/** An amount in a signal's units: bytes as quantities ("80Mi"), PSI in percent, counts as they are. */
export function formatSignalAmount(signal: EvictionSignal, amount: number): string {
  if (signal === PSI_MEMORY_SIGNAL) return `${Math.round(amount * 100) / 100}%`;
  const resource = SIGNAL_RESOURCE[signal];
  return resource === "memory" || resource === "ephemeral-storage" ? formatBytes(amount) : String(amount);
}
