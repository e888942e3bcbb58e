// Runs the doctor's checks and renders the verdict: a table with a fix under each problem
// for people, JSON for scripts, and the exit code (1 when anything FAILs; WARN alone is 0).
import { ALL_CHECKS, type Check, type CheckResult, type DoctorInputs } from "./checks.js";

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  readonly ok: boolean;
  readonly counts: { readonly OK: number; readonly WARN: number; readonly FAIL: number };
  readonly checks: readonly CheckResult[];
}

export async function runDoctor(
  inputs: DoctorInputs,
  checks: readonly Check[] = ALL_CHECKS,
): Promise<DoctorReport> {
  const results = await Promise.all(
    checks.map((check, index) =>
      check(inputs).catch((err: unknown): CheckResult => ({
        name: check.name || `check ${index + 1}`,
        status: "FAIL",
        detail: `the check itself failed: ${err instanceof Error ? err.message : String(err)}`,
        fix: "report this as a berth bug",
      })),
    ),
  );
  const counts = { OK: 0, WARN: 0, FAIL: 0 };
  for (const result of results) counts[result.status]++;
  return { ok: counts.FAIL === 0, counts, checks: results };
}

export function doctorExitCode(report: DoctorReport): number {
  return report.ok ? 0 : 1;
}

export function renderDoctorTable(report: DoctorReport): string {
  const rows: string[][] = [];
  for (const check of report.checks) {
    rows.push([check.name, check.status, check.detail]);
    if (check.fix !== undefined && check.status !== "OK") rows.push(["", "", `fix: ${check.fix}`]);
  }
  const widths = [0, 1].map((i) =>
    Math.max(["CHECK", "STATUS"][i]!.length, ...rows.map((r) => r[i]!.length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell))
      .join("   ")
      .trimEnd();
  const { OK, WARN, FAIL } = report.counts;
  return [
    line(["CHECK", "STATUS", "DETAIL"]),
    ...rows.map(line),
    "",
    `${report.checks.length} checks: ${OK} OK, ${WARN} WARN, ${FAIL} FAIL`,
    "",
  ].join("\n");
}

export function renderDoctorJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}
