// A setuid-root binary in an image raises a non-root container's effective uid to 0 unless the
// container asks for no_new_privs, as with containerd and CRI-O.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { LinuxContainerSecurityContext, type PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { BUSYBOX_PATH } from "../../../../harness/oci-image.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig } from "../../../../harness/cri-fixtures.js";

// busybox gives up a setuid root for nearly every applet before it runs, so the image carries a
// tiny static program that prints the uids the kernel gave it.
const EUID_PROGRAM = `#include <stdio.h>
#include <unistd.h>
int main(void) { printf("ruid=%u euid=%u\\n", (unsigned)getuid(), (unsigned)geteuid()); return 0; }
`;

async function buildEuidProgram(dir: string): Promise<Buffer> {
  await writeFile(join(dir, "euid.c"), EUID_PROGRAM);
  const res = await execa("gcc", ["-static", "-Os", "-o", join(dir, "euid"), join(dir, "euid.c")], {
    reject: false,
    stdin: "ignore",
  });
  if (res.exitCode !== 0) {
    throw new Error(
      `cannot build the static euid program (gcc and libc6-dev, from scripts/setup.sh): ${res.stderr || res.message}`,
    );
  }
  return await readFile(join(dir, "euid"));
}

describe("setuid binaries and no_new_privs", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;

  beforeAll(async () => {
    h = await startHarness();
    const euid = await buildEuidProgram(h.root);
    image = await h.importBusybox({
      extraLayers: [
        [
          { path: "suid", type: "dir", mode: 0o755 },
          { path: "suid/euid", content: euid, mode: 0o4755, uid: 0, gid: 0 },
          // The setuid busybox the bug was seen with: its mode and owner must survive unpacking too.
          { path: "suid/busybox", content: await readFile(BUSYBOX_PATH), mode: 0o4755, uid: 0, gid: 0 },
        ],
      ],
    });
    config = sandboxConfig("suid");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function effectiveUid(noNewPrivs: boolean): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(`suid-${noNewPrivs}`, image, ["sleep", "1000"], {
        linux: {
          securityContext: LinuxContainerSecurityContext.fromPartial({
            runAsUser: { value: 1000n },
            noNewPrivs,
          }),
        },
      }),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    try {
      const mode = await h.cri.runtime.execSync({
        containerId,
        cmd: ["stat", "-c", "%A %u:%g", "/suid/euid", "/suid/busybox"],
        timeout: 10n,
      });
      expect(Buffer.from(mode.stdout).toString()).toBe("-rwsr-xr-x 0:0\n-rwsr-xr-x 0:0\n");
      const res = await h.cri.runtime.execSync({ containerId, cmd: ["/suid/euid"], timeout: 10n });
      return Buffer.from(res.stdout).toString().trim();
    } finally {
      await h.cri.runtime.stopContainer({ containerId, timeout: 0n });
      await h.cri.runtime.removeContainer({ containerId });
    }
  }

  it("no_new_privs false: the setuid bit gives effective uid 0", async () => {
    expect(await effectiveUid(false)).toBe("ruid=1000 euid=0");
  });

  it("no_new_privs true: the setuid bit is ignored, effective uid stays 1000", async () => {
    expect(await effectiveUid(true)).toBe("ruid=1000 euid=1000");
  });
});
