// Tells a container's OOM kills apart: did the kernel end the main process (the container
// exits, reason OOMKilled) or another process in it (the container keeps running)? The kill
// counter alone cannot say which process died, so berth looks at the main process: alive
// after the kill means another process was the victim.
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** SIGKILL is signal 9: bit 8 of the pending-signal masks in /proc/<pid>/status. */
const SIGKILL_BIT = 1n << 8n;
/** PF_EXITING in the flags field of /proc/<pid>/stat: the task is in do_exit. */
const PF_EXITING = 0x4;

/** alive: running as usual. exiting: killed or dying (SIGKILL pending, in exit, a zombie). gone: no such process. */
export type ProcessLiveness = "alive" | "exiting" | "gone";

export type LivenessProbe = (pid: number) => Promise<ProcessLiveness>;

/** Reads /proc/<pid>/stat and /proc/<pid>/status. */
export function procLiveness(procRoot = "/proc"): LivenessProbe {
  return async (pid) => {
    let stat: string;
    let status: string;
    try {
      [stat, status] = await Promise.all([
        readFile(join(procRoot, String(pid), "stat"), "utf8"),
        readFile(join(procRoot, String(pid), "status"), "utf8"),
      ]);
    } catch {
      return "gone";
    }
    return livenessOf(stat, status);
  };
}

export function livenessOf(statText: string, statusText: string): ProcessLiveness {
  // The command name may hold spaces and parentheses: fields start after the last ")".
  const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  const state = fields[0] ?? "";
  const flags = Number(fields[6] ?? "0");
  if (state === "Z" || state === "X" || state === "x") return "exiting";
  if (Number.isFinite(flags) && (flags & PF_EXITING) !== 0) return "exiting";
  for (const key of ["ShdPnd", "SigPnd"]) {
    const match = new RegExp(`^${key}:\\s*([0-9a-fA-F]+)`, "m").exec(statusText);
    if (match && (BigInt(`0x${match[1]}`) & SIGKILL_BIT) !== 0n) return "exiting";
  }
  return "alive";
}

export interface ExitFacts {
  readonly exitCode: number;
  /** conmon left its `oom` file: it saw an OOM kill in the container's cgroup at some point. */
  readonly conmonSawOom: boolean;
  /** Kills seen by the watcher and not yet put down to another process. */
  readonly unattributedKills: number;
  /** Kills already put down to other processes while the main process lived on. */
  readonly processKills: number;
}

/**
 * Whether the main process died of an OOM kill. It must have died of SIGKILL (exit code 137),
 * with a kill nobody else accounts for: one the watcher saw and the main process did not
 * survive, or one only conmon saw. conmon's file stays once written, so a container whose
 * child was OOM-killed and which was later stopped with SIGKILL is not called OOM-killed.
 */
export function mainProcessOomKilled(facts: ExitFacts): boolean {
  if (facts.exitCode !== 137) return false;
  if (facts.unattributedKills > 0) return true;
  return facts.conmonSawOom && facts.processKills === 0;
}

/** After a kill: a living main process means the victim was another process; otherwise wait for the exit. */
export function killVictim(mainProcess: ProcessLiveness | "unknown"): "process" | "undecided" {
  return mainProcess === "alive" || mainProcess === "unknown" ? "process" : "undecided";
}
