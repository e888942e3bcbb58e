// Thin wrapper over the runc binary: one call per lifecycle step, never `runc run`
// attached to the agent. Every failure becomes a RuntimeFailureError carrying runc's words.
import { execa } from "execa";
import { RuntimeFailureError, NotFoundError } from "../../common/errors.js";
import { commandErrorText } from "../../common/command-error.js";

export interface RuncState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
  created: string;
}

/** Linux's real-time signals as numbers (34-64, the numbering Go and runc use): runc knows
 * them by no name, so `SIGRTMIN+3` or the CRI's SIGRTMAXMINUS2 must reach it as a number. */
export function runcSignal(name: string): string {
  const rt = /^SIG(RTMIN|RTMAX)(?:(PLUS|MINUS|\+|-)(\d+))?$/.exec(name);
  if (!rt) return name;
  const base = rt[1] === "RTMIN" ? 34 : 64;
  const offset = Number(rt[3] ?? 0) * (rt[2] === "MINUS" || rt[2] === "-" ? -1 : 1);
  const signal = base + offset;
  return signal >= 34 && signal <= 64 ? String(signal) : name;
}

export class Runc {
  constructor(
    readonly binary: string,
    /** runc's state dir (--root); berth keeps its own so it never sees other runtimes' containers. */
    readonly root: string,
  ) {}

  private async run(args: string[], what: string, timeoutMs = 60_000): Promise<string> {
    try {
      const res = await execa(this.binary, ["--root", this.root, ...args], { timeout: timeoutMs });
      return res.stdout;
    } catch (err) {
      const text = commandErrorText(err);
      if (/does not exist|container not found/i.test(text)) throw new NotFoundError("runc container", what);
      throw new RuntimeFailureError(`runc ${args[0]} ${what}: ${text}`);
    }
  }

  /** The container's state, or undefined when runc does not know it. */
  async state(id: string): Promise<RuncState | undefined> {
    try {
      return JSON.parse(await this.run(["state", id], id)) as RuncState;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    await this.run(["start", id], id);
  }

  /** Sends a signal to the init process (or, with all, every process of the container). */
  async kill(id: string, signal: string, all = false): Promise<void> {
    try {
      await this.run(["kill", ...(all ? ["--all"] : []), id, runcSignal(signal)], id);
    } catch (err) {
      // A container that already exited cannot be signalled; that is success for a stop.
      if (err instanceof NotFoundError) return;
      if (
        err instanceof RuntimeFailureError &&
        /not running|process already finished|no such process/i.test(err.message)
      )
        return;
      throw err;
    }
  }

  /** Removes runc's state (and cgroup) of a container; idempotent. */
  async delete(id: string): Promise<void> {
    try {
      await this.run(["delete", "--force", id], id);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
  }

  /** Applies new resources (a LinuxResources JSON) to a running container. */
  async update(id: string, resourcesJsonPath: string): Promise<void> {
    await this.run(["update", "--resources", resourcesJsonPath, id], id);
  }

  async ps(id: string): Promise<number[]> {
    const out = await this.run(["ps", "--format", "json", id], id);
    return (JSON.parse(out) as number[] | null) ?? [];
  }

  async list(): Promise<RuncState[]> {
    const out = await this.run(["list", "--format", "json"], "list");
    return (JSON.parse(out) as RuncState[] | null) ?? [];
  }
}
