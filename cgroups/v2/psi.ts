// Pressure stall information (cpu.pressure, memory.pressure, io.pressure). A kernel built or
// booted without PSI has no such files; that reads as undefined, never as an error.
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile } from "../files.js";
import { parseNestedKeyed } from "../parse.js";

export interface PressureLine {
  /** Percent of wall time stalled over the last 10 s, 60 s and 300 s. */
  readonly avg10: number;
  readonly avg60: number;
  readonly avg300: number;
  /** Total stall time in microseconds. */
  readonly totalUsec: number;
}

export interface Pressure {
  readonly some: PressureLine;
  /** Older kernels print no "full" line for cpu. */
  readonly full?: PressureLine;
}

export interface PsiStats {
  readonly cpu?: Pressure;
  readonly memory?: Pressure;
  readonly io?: Pressure;
}

function number(fields: Map<string, string>, key: string): number {
  const value = Number(fields.get(key));
  return Number.isFinite(value) ? value : 0;
}

function parseLine(fields: Map<string, string>): PressureLine {
  return {
    avg10: number(fields, "avg10"),
    avg60: number(fields, "avg60"),
    avg300: number(fields, "avg300"),
    totalUsec: number(fields, "total"),
  };
}

/** undefined when the text has no "some" line. */
export function parsePressure(text: string): Pressure | undefined {
  const rows = parseNestedKeyed(text);
  const some = rows.get("some");
  if (some === undefined) return undefined;
  const full = rows.get("full");
  return { some: parseLine(some), ...(full !== undefined && { full: parseLine(full) }) };
}

async function readPressure(dir: string, file: string): Promise<Pressure | undefined> {
  const text = await readOptionalFile(dir, file);
  return text === undefined ? undefined : parsePressure(text);
}

/** undefined when none of the three files exists. */
export async function readPsi(dir: string): Promise<PsiStats | undefined> {
  const [cpu, memory, io] = await Promise.all([
    readPressure(dir, "cpu.pressure"),
    readPressure(dir, "memory.pressure"),
    readPressure(dir, "io.pressure"),
  ]);
  if (cpu === undefined && memory === undefined && io === undefined) return undefined;
  return { ...(cpu && { cpu }), ...(memory && { memory }), ...(io && { io }) };
}

export const psi: ControllerStatsReader<PsiStats> = { name: "psi", read: readPsi };
