// What a config reload (SIGHUP, `systemctl reload berth`) changes: the fields that differ,
// split into those the running agent applies and those that wait for a restart.

/** Dotted paths of the leaves that differ between two plain JSON-like values. */
export function changedFields(before: unknown, after: unknown, prefix = ""): string[] {
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedFields(before[key], after[key], prefix ? `${prefix}.${key}` : key));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface ReloadPlan {
  /** Every field that differs. */
  readonly changed: readonly string[];
  /** Fields the agent applies while running. */
  readonly applied: readonly string[];
  /** Fields that take effect at the next start. */
  readonly needRestart: readonly string[];
}

export function planReload(before: unknown, after: unknown, liveFields: readonly string[]): ReloadPlan {
  const changed = changedFields(before, after);
  const live = new Set(liveFields);
  return {
    changed,
    applied: changed.filter((field) => live.has(field)),
    needRestart: changed.filter((field) => !live.has(field)),
  };
}

/** One line for STATUS= and the log. */
export function describeReload(plan: ReloadPlan): string {
  if (plan.changed.length === 0) return "config reloaded: nothing changed";
  const parts: string[] = [];
  if (plan.applied.length > 0) parts.push(`applied ${plan.applied.join(", ")}`);
  if (plan.needRestart.length > 0) parts.push(`restart needed for ${plan.needRestart.join(", ")}`);
  return `config reloaded: ${parts.join("; ")}`;
}
