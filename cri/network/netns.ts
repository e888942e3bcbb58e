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

const NETNS_TIMEOUT_MS = 10_000;

export interface IdRange {
  containerID: number;
  hostID: number;
  size: number;
}

export interface UsernsMappings {
  uidMappings: IdRange[];
  gidMappings: IdRange[];
}

export class NetnsManager {
  constructor(private readonly dir: string) {}

  pathOf(sandboxId: string): string {
    return join(this.dir, sandboxId);
  }

  /** Where the user namespace owning a sandbox's network namespace is bound, when it has one. */
  usernsPathOf(sandboxId: string): string {
    return `${this.pathOf(sandboxId)}.userns`;
  }

  /**
   * Creates the namespace with loopback up; returns its path. With `userns`, the network
   * namespace is created inside a new user namespace with those mappings (bound at
   * usernsPathOf), which then owns it: processes that join that user namespace first, as
   * runc does, may still join the network namespace. Leaves nothing behind on failure.
   */
  async create(sandboxId: string, userns?: UsernsMappings): Promise<string> {
    const path = this.pathOf(sandboxId);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(path, "", { mode: 0o600 });
    try {
      if (userns) await this.createInUserns(sandboxId, userns);
      else {
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
      }
    } catch (err) {
      await this.remove(sandboxId).catch(() => undefined);
      throw new RuntimeFailureError(
        `creating network namespace for sandbox ${sandboxId}: ${commandErrorText(err)}`,
      );
    }
    return path;
  }

  /**
   * util-linux 2.38's unshare maps ids only through newuidmap and cannot bind a new user
   * namespace, so both are done here: the child says "ready" once it is in its new user and
   * network namespaces, berth writes its maps and binds both namespaces, the child exits and
   * berth brings loopback up from outside.
   */
  private async createInUserns(sandboxId: string, userns: UsernsMappings): Promise<void> {
    const usernsPath = this.usernsPathOf(sandboxId);
    await writeFile(usernsPath, "", { mode: 0o600 });
    const child = execa("unshare", ["--user", "--net", "sh", "-c", "echo ready && read _"], {
      timeout: NETNS_TIMEOUT_MS,
      stdin: "pipe",
      stdout: "pipe",
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let seen = "";
        child.stdout?.on("data", (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes("ready")) resolve();
        });
        child.then(() => reject(new Error("unshare exited before its namespaces were ready")), reject);
      });
      const line = (m: IdRange[]) => m.map((r) => `${r.containerID} ${r.hostID} ${r.size}\n`).join("");
      await writeFile(`/proc/${child.pid}/uid_map`, line(userns.uidMappings));
      await writeFile(`/proc/${child.pid}/gid_map`, line(userns.gidMappings));
      const bind = (ns: string, target: string) =>
        execa("mount", ["--bind", `/proc/${child.pid}/ns/${ns}`, target], { timeout: NETNS_TIMEOUT_MS });
      await bind("user", usernsPath);
      await bind("net", this.pathOf(sandboxId));
      child.stdin?.end("go\n");
      await child;
      // Host root has every capability over the new user namespace's network namespace.
      await execa("nsenter", [`--net=${this.pathOf(sandboxId)}`, "ip", "link", "set", "lo", "up"], {
        timeout: NETNS_TIMEOUT_MS,
      });
    } catch (err) {
      child.kill("SIGKILL");
      await child.catch(() => undefined);
      throw err;
    }
  }

  /** Unmounts and deletes the namespace file; a missing one is not an error. */
  async remove(sandboxId: string): Promise<void> {
    for (const path of [this.pathOf(sandboxId), this.usernsPathOf(sandboxId)]) {
      await unmountIfMounted(path);
      await rm(path, { force: true });
    }
  }
}
