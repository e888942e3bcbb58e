// What `berth doctor` reads of the host, behind one interface so that each check can be
// tested with a described host: files, directory entries, stat, and commands.
import { execa } from "execa";
import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";

export interface CommandOutput {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface FileFacts {
  /** Permission bits (mode & 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly isSocket: boolean;
  readonly isFile: boolean;
}

export interface HostProbe {
  /** The file's text; undefined when it is missing or cannot be read. */
  readFile(path: string): Promise<string | undefined>;
  stat(path: string): Promise<FileFacts | undefined>;
  /** An executable regular file exists at path. */
  isExecutable(path: string): Promise<boolean>;
  /** Runs a command; undefined when the binary cannot be run at all (not installed). */
  run(command: string, args: readonly string[]): Promise<CommandOutput | undefined>;
}

export function nodeHostProbe(timeoutMs = 10_000): HostProbe {
  return {
    readFile: (path) => readFile(path, "utf8").catch(() => undefined),
    stat: async (path) => {
      try {
        const facts = await stat(path);
        return {
          mode: facts.mode & 0o7777,
          uid: facts.uid,
          gid: facts.gid,
          isSocket: facts.isSocket(),
          isFile: facts.isFile(),
        };
      } catch {
        return undefined;
      }
    },
    isExecutable: async (path) => {
      try {
        if (!(await stat(path)).isFile()) return false;
        await access(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    run: async (command, args) => {
      const result = await execa(command, args, { reject: false, stdin: "ignore", timeout: timeoutMs });
      if (result.failed && result.exitCode === undefined) {
        // Not started at all (ENOENT, EACCES) or killed by the timeout.
        if (result.timedOut)
          return { exitCode: 124, stdout: String(result.stdout ?? ""), stderr: "timed out" };
        return undefined;
      }
      return {
        exitCode: result.exitCode ?? 1,
        stdout: String(result.stdout ?? ""),
        stderr: String(result.stderr ?? ""),
      };
    },
  };
}
