// Kills what `runc exec` started, the whole tree: runc makes the exec'd process the leader of a
// new session, and what it starts stays in that session (and usually in its process group) even
// after it is reparented to the container's init, which a walk of parent links would miss.
import { readFile, readdir, readlink } from "node:fs/promises";

/** Rounds of scan-and-kill: a later round catches what forked while the previous one ran. */
const KILL_ROUNDS = 5;

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  session: number;
}

/** Parses `/proc/<pid>/stat`; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number.parseInt(text.slice(0, open), 10);
  const [state, , pgrp, session] = text.slice(close + 2).split(" ");
  if (!Number.isInteger(pid) || state === undefined) return undefined;
  return { pid, state, pgrp: Number(pgrp), session: Number(session) };
}

/**
 * SIGKILLs the exec'd process `execPid`, its process group and its session, limited to processes
 * in the container's PID namespace (read from `containerPid`), so that a pid number reused on the
 * host after the session ended is never hit. Returns how many processes were signalled.
 */
export async function killExecSession(execPid: number, containerPid: number | undefined): Promise<number> {
  const pidNs = containerPid
    ? await readlink(`/proc/${containerPid}/ns/pid`).catch(() => undefined)
    : undefined;
  let signalled = 0;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const members = await sessionMembers(execPid, pidNs);
    if (members.length === 0) break;
    // The group at once first, so nothing in it can fork past the kill; then the session's other
    // groups one process at a time.
    if (members.some((m) => m.pgrp === execPid)) signal(-execPid);
    for (const m of members) if (m.pgrp !== execPid) signal(m.pid);
    signalled += members.length;
  }
  return signalled;
}

async function sessionMembers(execPid: number, pidNs: string | undefined): Promise<ProcStat[]> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  const found: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = parseProcStat(await readFile(`/proc/${name}/stat`, "utf8").catch(() => ""));
    // Zombies are dead already: their parent (runc, or the container's init) reaps them.
    if (!stat || stat.state === "Z") continue;
    if (stat.pid !== execPid && stat.pgrp !== execPid && stat.session !== execPid) continue;
    if (pidNs !== undefined && (await readlink(`/proc/${name}/ns/pid`).catch(() => "")) !== pidNs) continue;
    found.push(stat);
  }
  return found;
}

function signal(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
