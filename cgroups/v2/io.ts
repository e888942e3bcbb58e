// cgroup v2 io controller: io.stat, one line per block device ("MAJ:MIN key=value ...").
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile } from "../files.js";
import { parseNestedKeyed } from "../parse.js";

export interface IoDeviceStats {
  readonly major: number;
  readonly minor: number;
  readonly rbytes: number;
  readonly wbytes: number;
  readonly rios: number;
  readonly wios: number;
  /** Discards; absent before Linux 5.2, reported as 0 then. */
  readonly dbytes: number;
  readonly dios: number;
}

export interface IoStats {
  readonly devices: readonly IoDeviceStats[];
}

function counter(fields: Map<string, string>, key: string): number {
  const value = fields.get(key);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : 0;
}

export function parseIoStat(text: string): IoStats {
  const devices: IoDeviceStats[] = [];
  for (const [device, fields] of parseNestedKeyed(text)) {
    const match = /^(\d+):(\d+)$/.exec(device);
    if (!match) continue;
    devices.push({
      major: Number(match[1]),
      minor: Number(match[2]),
      rbytes: counter(fields, "rbytes"),
      wbytes: counter(fields, "wbytes"),
      rios: counter(fields, "rios"),
      wios: counter(fields, "wios"),
      dbytes: counter(fields, "dbytes"),
      dios: counter(fields, "dios"),
    });
  }
  return { devices };
}

export async function readIoV2(dir: string): Promise<IoStats | undefined> {
  const text = await readOptionalFile(dir, "io.stat");
  return text === undefined ? undefined : parseIoStat(text);
}

export const ioV2: ControllerStatsReader<IoStats> = { name: "io", read: readIoV2 };
