import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, readFile, stat } from "node:fs/promises";
import { status as grpcStatus } from "@grpc/grpc-js";
import {
  LinuxContainerConfig,
  LinuxPodSandboxConfig,
  NamespaceMode,
  type IDMapping,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig } from "../../../../harness/cri-fixtures.js";

const FIELD = "config.linux.security_context.namespace_options.userns_options";
const MAPPING: IDMapping = { containerId: 0, hostId: 100000, length: 65536 };

function usernsPod(
  name: string,
  uids: IDMapping[] = [MAPPING],
  gids: IDMapping[] = uids,
  mode = NamespaceMode.POD,
): PodSandboxConfig {
  return sandboxConfig(name, {
    linux: LinuxPodSandboxConfig.fromPartial({
      securityContext: { namespaceOptions: { usernsOptions: { mode, uids, gids } } },
    }),
  });
}

async function hostStatusField(pid: number, field: string): Promise<string> {
  const text = await readFile(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`^${field}:\\s*(.*)$`, "m").exec(text);
  if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
  return match[1].trim();
}

describe("user namespaces for pods", () => {
  let h: Harness;
  let image: string;
  let advertisedBeforeChmod: boolean | undefined;
  let refusedBeforeChmod: { code?: number; details?: string } | undefined;
  beforeAll(async () => {
    h = await startHarness();
    // mkdtemp makes the harness root 0700: the mapped root of a pod could not reach its
    // rootfs through it, and the runtime must say so instead of advertising user namespaces.
    advertisedBeforeChmod = (await h.cri.runtime.status({ verbose: false })).runtimeHandlers[0]?.features
      ?.userNamespaces;
    refusedBeforeChmod = await h.cri.runtime
      .runPodSandbox({ config: usernsPod("unreachable"), runtimeHandler: "" })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; details?: string },
      );
    await chmod(h.root, 0o711);
    await h.stop();
    await h.restart();
    image = await h.importBusybox();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function startContainer(podSandboxId: string, config: PodSandboxConfig, name: string) {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const sh = async (cmd: string) => {
      const res = await h.cri.runtime.execSync({ containerId, cmd: ["sh", "-c", cmd], timeout: 10n });
      const out = Buffer.from(res.stdout).toString().trim();
      const err = Buffer.from(res.stderr).toString().trim();
      if (res.exitCode !== 0) throw new Error(`"${cmd}" exited ${res.exitCode}: ${out} ${err}`);
      return out;
    };
    const { info } = await h.cri.runtime.containerStatus({ containerId, verbose: true });
    const pid = Number(JSON.parse(info.info ?? "{}").pid);
    expect(pid).toBeGreaterThan(0);
    return { containerId, sh, pid };
  }

  it("Status advertises user namespaces only when the mapped root can reach berth's dirs", async () => {
    expect(advertisedBeforeChmod).toBe(false);
    expect(refusedBeforeChmod?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(refusedBeforeChmod?.details).toContain("not searchable by other users");
    const s = await h.cri.runtime.status({ verbose: false });
    expect(s.runtimeHandlers[0]?.features?.userNamespaces).toBe(true);
  });

  it("containers of a POD-mode pod run as mapped root in one shared user namespace", async () => {
    const config = usernsPod("userns");
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const a = await startContainer(podSandboxId, config, "a");
    const b = await startContainer(podSandboxId, config, "b");

    expect((await a.sh("cat /proc/self/uid_map")).split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect((await a.sh("cat /proc/self/gid_map")).split(/\s+/)).toEqual(["0", "100000", "65536"]);
    expect(await a.sh("id -u")).toBe("0");
    // From the host, the container's root is the mapped id.
    expect((await hostStatusField(a.pid, "Uid")).split(/\s+/)[0]).toBe("100000");
    expect((await hostStatusField(a.pid, "Gid")).split(/\s+/)[0]).toBe("100000");

    // Its rootfs and the pod's files are its own.
    await a.sh("touch /x && echo hi > /tmp/y && cat /tmp/y && mkdir -p /etc/new && echo ok > /bin/new");
    expect(await a.sh("stat -c '%u %g' / /bin/busybox /etc | sort -u")).toBe("0 0");
    expect(await a.sh("grep -c localhost /etc/hosts")).not.toBe("0");
    await a.sh("cat /etc/resolv.conf > /dev/null && echo 127.0.0.2 extra >> /etc/hosts");
    await a.sh("echo shared > /dev/shm/f");
    // The pod's own sysfs: its network namespace belongs to its user namespace.
    expect(await a.sh("ls /sys/class/net | tr '\\n' ,")).toBe("lo,");
    expect(await b.sh("cat /dev/shm/f")).toBe("shared");
    expect(await b.sh("test -e /x && echo seen || echo own-rootfs")).toBe("own-rootfs");

    // Both containers and the infra process share one user namespace, not the host's.
    const [userA, userB, hostUser] = await Promise.all([
      stat(`/proc/${a.pid}/ns/user`),
      stat(`/proc/${b.pid}/ns/user`),
      stat("/proc/self/ns/user"),
    ]);
    expect(userA.ino).toBe(userB.ino);
    expect(userA.ino).not.toBe(hostUser.ino);
    const pod = await h.cri.runtime.podSandboxStatus({ podSandboxId, verbose: true });
    const infraPid = Number(JSON.parse(pod.info.info ?? "{}").pid);
    expect((await stat(`/proc/${infraPid}/ns/user`)).ino).toBe(userA.ino);

    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });

  it("mode NODE keeps the host's user namespace", async () => {
    const config = usernsPod("userns-node", [], [], NamespaceMode.NODE);
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const c = await startContainer(podSandboxId, config, "c");
    expect((await c.sh("cat /proc/self/uid_map")).split(/\s+/)).toEqual(["0", "0", "4294967295"]);
    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });

  it.each<[string, PodSandboxConfig, string]>([
    ["no mappings in POD mode", usernsPod("bad1", []), `${FIELD}.uids`],
    [
      "two mappings",
      usernsPod("bad2", [MAPPING, { containerId: 65536, hostId: 300000, length: 10 }]),
      `${FIELD}.uids`,
    ],
    ["gids unlike uids", usernsPod("bad3", [MAPPING], [{ ...MAPPING, hostId: 200000 }]), `${FIELD}.gids`],
    [
      "a mapping not of root",
      usernsPod("bad4", [{ ...MAPPING, containerId: 1 }]),
      `${FIELD}.uids[0].container_id`,
    ],
    ["host root mapped", usernsPod("bad5", [{ ...MAPPING, hostId: 0 }]), `${FIELD}.uids[0].host_id`],
    ["an empty range", usernsPod("bad6", [{ ...MAPPING, length: 0 }]), `${FIELD}.uids[0].length`],
    [
      "a range past 2^32",
      usernsPod("bad7", [{ ...MAPPING, hostId: 4294900000, length: 65536 * 2 }]),
      `${FIELD}.uids[0].length`,
    ],
    ["mode CONTAINER", usernsPod("bad8", [MAPPING], [MAPPING], NamespaceMode.CONTAINER), `${FIELD}.mode`],
    ["mode TARGET", usernsPod("bad9", [MAPPING], [MAPPING], NamespaceMode.TARGET), `${FIELD}.mode`],
  ])("refuses %s with INVALID_ARGUMENT naming the field", async (_label, config, field) => {
    const err = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; details?: string },
    );
    expect(err?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err?.details).toContain(field);
    const left = (await h.cri.runtime.listPodSandbox({})).items;
    expect(left.filter((p) => p.metadata?.name === config.metadata?.name)).toEqual([]);
  });

  it("refuses a container asking for a user namespace other than its pod's", async () => {
    const config = usernsPod("userns-mismatch");
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const other = { ...MAPPING, hostId: 200000 };
    const err = await h.cri.runtime
      .createContainer({
        podSandboxId,
        config: containerConfig("c", image, ["sleep", "1000"], {
          linux: LinuxContainerConfig.fromPartial({
            securityContext: {
              namespaceOptions: {
                usernsOptions: { mode: NamespaceMode.POD, uids: [other], gids: [other] },
              },
            },
          }),
        }),
        sandboxConfig: config,
      })
      .then(
        () => undefined,
        (e: unknown) => e as { code?: number; details?: string },
      );
    expect(err?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err?.details).toContain(FIELD);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });
});
