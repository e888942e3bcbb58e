// Persistent network namespaces for sandboxes. Each one is bind-mounted on a file under
// berth's netns dir, so it outlives any process and can be handed to runc and to CNI
// plugins by path. `unshare --net=FILE` creates and binds it in one step, under a parent-death
// signal: if the agent dies mid-way, unshare dies with it instead of binding a namespace after
// the next agent has already undone the interrupted creation.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { RuntimeFailureError } from "../../common/errors.js";
import { commandErrorText } from "../../common/command-error.js";
import { unmountIfMounted } from "../../common/mounts.js";

export class NetnsManager {
  constructor(private readonly dir: string) {}

  pathOf(sandboxId: string): string {
    return join(this.dir, sandboxId);
  }

  /** Creates the namespace with loopback up; returns its path. Leaves nothing behind on failure. */
  async create(sandboxId: string): Promise<string> {
    const path = this.pathOf(sandboxId);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(path, "", { mode: 0o600 });
    try {
      await execa("setpriv", [
        "--pdeathsig",
        "KILL",
        "--",
        "unshare",
        `--net=${path}`,
        "ip",
        "link",
        "set",
        "lo",
        "up",
      ]);
    } catch (err) {
      await this.remove(sandboxId).catch(() => undefined);
      throw new RuntimeFailureError(
        `creating network namespace for sandbox ${sandboxId}: ${commandErrorText(err)}`,
      );
    }
    return path;
  }

  /** Unmounts and deletes the namespace file; a missing one is not an error. */
  async remove(sandboxId: string): Promise<void> {
    const path = this.pathOf(sandboxId);
    await unmountIfMounted(path);
    await rm(path, { force: true });
  }
}
