// A described host for the doctor's checks: files by path, executables, stat facts and
// command outputs by command line.
import type { CommandOutput, FileFacts, HostProbe } from "../../../../systemd/doctor/host.js";

export interface FakeHost {
  files?: Record<string, string>;
  executables?: string[];
  stats?: Record<string, Partial<FileFacts>>;
  /** Output by "command arg1 arg2"; a missing entry means the command is not installed. */
  commands?: Record<string, Partial<CommandOutput>>;
}

export function fakeProbe(host: FakeHost): HostProbe & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    readFile: async (path) => host.files?.[path],
    stat: async (path) => {
      const facts = host.stats?.[path];
      if (facts === undefined) return undefined;
      return { mode: 0o644, uid: 0, gid: 0, isSocket: false, isFile: true, ...facts };
    },
    isExecutable: async (path) => host.executables?.includes(path) ?? false,
    run: async (command, args) => {
      const line = [command, ...args].join(" ");
      ran.push(line);
      const output = host.commands?.[line];
      return output === undefined ? undefined : { exitCode: 0, stdout: "", stderr: "", ...output };
    },
  };
}
