import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  ContainerConfig,
  LinuxContainerResources,
  MountPropagation,
  NamespaceMode,
  PodSandboxConfig,
  SecurityProfile_ProfileType,
} from "../../../../cri/api/generated/api.js";
import { CAPABILITY_NAMES, type HostLimits } from "../../../../cri/runtime/host-limits.js";
import {
  ANNOTATION,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  buildContainerSpec,
  buildInfraSpec,
  infraSeccomp,
  clampOomScoreAdj,
  containerCapabilities,
  mergeArgs,
  mergeEnv,
  ociResources,
  type ContainerSpecInput,
  type ImageConfigForSpec,
  type SandboxContext,
} from "../../../../cri/runtime/oci-spec.js";
import { defaultSeccompProfile } from "../../../../cri/runtime/seccomp.js";

type SandboxPartial = Parameters<typeof PodSandboxConfig.fromPartial>[0];
type ContainerPartial = Parameters<typeof ContainerConfig.fromPartial>[0];

/** Everything but CAP_SYS_RESOURCE and CAP_NET_RAW, as on a host that took them away from berth. */
const HOST: HostLimits = {
  boundingCapabilities: new Set(
    CAPABILITY_NAMES.filter((c) => c !== "CAP_SYS_RESOURCE" && c !== "CAP_NET_RAW"),
  ),
  minOomScoreAdj: -100,
};
const INFRA_PID = 4242;

let base: string;
let rootfs: string;
let hostDevDir: string;

function mknod(path: string, type: "c" | "b", major: number, minor: number): void {
  execFileSync("mknod", ["-m", "0660", path, type, String(major), String(minor)]);
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-oci-spec-"));
  rootfs = join(base, "rootfs");
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await writeFile(
    join(rootfs, "etc", "passwd"),
    "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
  );
  await writeFile(join(rootfs, "etc", "group"), "root:x:0:\nvideo:x:44:app\napp:x:1000:\n");
  for (const f of ["hostname", "hosts", "resolv.conf"]) await writeFile(join(base, f), "");
  await mkdir(join(base, "shm"));
  await mkdir(join(base, "data"));
  await mkdir(join(base, "logs"));
  await symlink(join(base, "data"), join(base, "data-link"));

  await mkdir(join(base, "devs", "sub"), { recursive: true });
  mknod(join(base, "devs", "mynull"), "c", 1, 3);
  mknod(join(base, "devs", "loop"), "b", 7, 0);
  mknod(join(base, "devs", "sub", "zero"), "c", 1, 5);
  await writeFile(join(base, "devs", "plain-file"), "");

  hostDevDir = join(base, "hostdev");
  await mkdir(join(hostDevDir, "pts"), { recursive: true });
  await mkdir(join(hostDevDir, "snd"));
  mknod(join(hostDevDir, "null"), "c", 1, 3);
  mknod(join(hostDevDir, "sda"), "b", 8, 0);
  mknod(join(hostDevDir, "console"), "c", 5, 1);
  mknod(join(hostDevDir, "pts", "0"), "c", 136, 0);
  mknod(join(hostDevDir, "snd", "timer"), "c", 116, 33);
  await symlink("/proc/self/fd/0", join(hostDevDir, "stdin"));
  await writeFile(join(hostDevDir, "not-a-device"), "");
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function sandboxConfig(partial: SandboxPartial = {}): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name: "web", namespace: "shop", uid: "pod-uid" },
    hostname: "web-0",
    logDirectory: "/var/log/pods/shop_web_pod-uid",
    ...partial,
  });
}

function sandboxContext(partial: Partial<SandboxContext> = {}, config = sandboxConfig()): SandboxContext {
  return {
    id: "sb-1",
    config,
    netnsPath: "/run/berth/netns/sb-1",
    infraPid: INFRA_PID,
    hostnamePath: join(base, "hostname"),
    hostsPath: join(base, "hosts"),
    resolvConfPath: join(base, "resolv.conf"),
    shmPath: join(base, "shm"),
    ...partial,
  };
}

function containerConfig(partial: ContainerPartial = {}): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name: "app" },
    image: { image: "registry.example/app:1" },
    command: ["/bin/app"],
    ...partial,
  });
}

function build(partial: ContainerPartial = {}, overrides: Partial<ContainerSpecInput> = {}) {
  return buildContainerSpec({
    containerId: "c-1",
    config: containerConfig(partial),
    sandbox: sandboxContext(),
    image: {},
    rootfsPath: rootfs,
    cgroupsPath: "/berth/pods/burstable/pod-uid/c-1",
    host: HOST,
    defaultNoNewPrivileges: true,
    hostDevDir,
    arch: "x64",
    ...overrides,
  });
}

function privilegedSandbox(): SandboxContext {
  return sandboxContext({}, sandboxConfig({ linux: { securityContext: { privileged: true } } }));
}

async function fieldOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err instanceof InvalidArgumentError) return err.field;
  throw err ?? new Error("no error thrown");
}

describe("mergeArgs", () => {
  const image: ImageConfigForSpec = { entrypoint: ["/entry"], cmd: ["default-arg"] };
  it.each<[string, string[], string[], ImageConfigForSpec, string[]]>([
    ["command only", ["/bin/x"], [], image, ["/bin/x"]],
    ["command and args", ["/bin/x"], ["-v"], image, ["/bin/x", "-v"]],
    ["args only: entrypoint + args", [], ["-v"], image, ["/entry", "-v"]],
    ["nothing: entrypoint + cmd", [], [], image, ["/entry", "default-arg"]],
    ["no entrypoint: cmd", [], [], { cmd: ["/bin/sh", "-c", "x"] }, ["/bin/sh", "-c", "x"]],
    ["no entrypoint, args replace cmd", [], ["/bin/y"], { cmd: ["/bin/sh"] }, ["/bin/y"]],
    ['ENTRYPOINT [""] counts as none', [], [], { entrypoint: [""], cmd: ["/bin/z"] }, ["/bin/z"]],
    ["entrypoint only", [], [], { entrypoint: ["/entry"] }, ["/entry"]],
  ])("%s", (_label, command, args, img, expected) => {
    expect(mergeArgs({ command, args }, img)).toEqual(expected);
  });

  it("fails naming config.command when nothing is left", () => {
    expect(() => mergeArgs({ command: [], args: [] }, {})).toThrow(InvalidArgumentError);
    expect(() => mergeArgs({ command: [], args: [] }, {})).toThrow(/config.command/);
  });
});

describe("mergeEnv", () => {
  it("overrides by name in place and appends new names", () => {
    expect(mergeEnv(["PATH=/bin", "A=1", "B=2"], ["B=3", "C=4"])).toEqual(["PATH=/bin", "A=1", "B=3", "C=4"]);
  });

  it("adds a default PATH when none is given", () => {
    expect(mergeEnv(["A=1"])).toEqual([DEFAULT_PATH_ENV, "A=1"]);
  });

  it("keeps values containing =", () => {
    expect(mergeEnv(["PATH=/bin"], ["OPTS=a=b"])).toEqual(["PATH=/bin", "OPTS=a=b"]);
  });
});

describe("buildContainerSpec: process", () => {
  it("merges image and config", async () => {
    const spec = await build(
      {
        command: [],
        args: ["--port", "80"],
        envs: [
          { key: "MODE", value: "prod" },
          { key: "EXTRA", value: "1" },
        ],
        tty: true,
      },
      {
        image: {
          entrypoint: ["/srv"],
          cmd: ["--help"],
          env: ["PATH=/opt/bin", "MODE=dev"],
          workingDir: "/work",
        },
      },
    );
    expect(spec.process?.args).toEqual(["/srv", "--port", "80"]);
    expect(spec.process?.env).toEqual(["HOSTNAME=web-0", "PATH=/opt/bin", "MODE=prod", "EXTRA=1"]);
    expect(spec.process?.cwd).toBe("/work");
    expect(spec.process?.terminal).toBe(true);
  });

  it("takes the working dir from the config first and falls back to /", async () => {
    expect((await build({ workingDir: "/cfg" }, { image: { workingDir: "/img" } })).process?.cwd).toBe(
      "/cfg",
    );
    expect((await build()).process?.cwd).toBe("/");
    expect((await build({}, { image: { workingDir: "rel" } })).process?.cwd).toBe("/rel");
  });

  it("uses the node's name for HOSTNAME of a host-network pod without a hostname", async () => {
    const sandbox = sandboxContext({ netnsPath: undefined }, sandboxConfig({ hostname: "" }));
    const spec = await build({}, { sandbox, nodeHostname: "node-7" });
    expect(spec.process?.env).toContain("HOSTNAME=node-7");
  });

  it("resolves the user from the image and the security context", async () => {
    expect((await build({}, { image: { user: "app" } })).process?.user).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 44],
    });
    const spec = await build(
      {
        linux: {
          securityContext: {
            runAsUser: { value: 1000n },
            runAsGroup: { value: 5n },
            supplementalGroups: [900n],
          },
        },
      },
      { image: { user: "root" } },
    );
    expect(spec.process?.user).toEqual({ uid: 1000, gid: 5, additionalGids: [5, 44, 900] });
  });

  it("refuses an id a number cannot hold exactly instead of rounding it", async () => {
    expect(await fieldOf(build({ linux: { securityContext: { runAsUser: { value: 2n ** 53n } } } }))).toBe(
      "config.linux.security_context.run_as_user",
    );
    expect(
      await fieldOf(build({ linux: { securityContext: { supplementalGroups: [1n, -(2n ** 60n)] } } })),
    ).toBe("config.linux.security_context.supplemental_groups[1]");
  });

  it("fails on an unknown run_as_username", async () => {
    expect(await fieldOf(build({ linux: { securityContext: { runAsUsername: "ghost" } } }))).toBe(
      "config.linux.security_context.run_as_username",
    );
  });

  it.each<[string, boolean, boolean, boolean, boolean]>([
    // label, noNewPrivs, defaultNoNewPrivileges, privileged, expected
    ["default on", false, true, false, true],
    ["default off", false, false, false, false],
    ["asked for", true, false, false, true],
    ["privileged skips the default", false, true, true, false],
    ["privileged but asked for", true, true, true, true],
  ])("noNewPrivileges: %s", async (_label, noNewPrivs, defaultNoNewPrivileges, privileged, expected) => {
    const spec = await build(
      { linux: { securityContext: { noNewPrivs, privileged } } },
      { defaultNoNewPrivileges, sandbox: privilegedSandbox() },
    );
    expect(spec.process?.noNewPrivileges).toBe(expected);
  });

  it("clamps oom_score_adj up to the host floor", async () => {
    const adj = async (oomScoreAdj: bigint) =>
      (await build({ linux: { resources: { oomScoreAdj } } })).process?.oomScoreAdj;
    expect(await adj(-999n)).toBe(-100);
    expect(await adj(-100n)).toBe(-100);
    expect(await adj(300n)).toBe(300);
    // Unset means 0 (clamped), never the agent's own inherited score.
    expect((await build()).process?.oomScoreAdj).toBe(0);
    expect(clampOomScoreAdj(1000, { ...HOST, minOomScoreAdj: 0 })).toBe(1000);
  });
});

describe("capabilities", () => {
  const caps = (capabilities: {
    addCapabilities?: string[];
    dropCapabilities?: string[];
    addAmbientCapabilities?: string[];
  }) =>
    containerCapabilities(
      ContainerConfig.fromPartial({ linux: { securityContext: { capabilities } } }).linux?.securityContext,
      HOST,
    );
  const defaultsOnHost = DEFAULT_CAPABILITIES.filter((c) => c !== "CAP_NET_RAW");

  it("grants the default set minus what the host lacks, and reports the rest", () => {
    const d = containerCapabilities(undefined, HOST);
    expect([...d.granted].sort()).toEqual([...defaultsOnHost].sort());
    expect(d.droppedByHost).toEqual(["CAP_NET_RAW"]);
    expect(d.capabilities.bounding).toEqual(d.capabilities.effective);
    expect(d.capabilities.permitted).toEqual(d.capabilities.bounding);
    expect(d.capabilities.inheritable).toEqual([]);
    expect(d.capabilities.ambient).toEqual([]);
  });

  it("adds and drops with or without the CAP_ prefix", () => {
    const d = caps({
      addCapabilities: ["NET_ADMIN", "cap_sys_time"],
      dropCapabilities: ["CHOWN", "CAP_KILL"],
    });
    expect(d.granted.has("CAP_NET_ADMIN")).toBe(true);
    expect(d.granted.has("CAP_SYS_TIME")).toBe(true);
    expect(d.granted.has("CAP_CHOWN")).toBe(false);
    expect(d.granted.has("CAP_KILL")).toBe(false);
  });

  it("drop ALL then add keeps only the added", () => {
    expect([...caps({ dropCapabilities: ["ALL"], addCapabilities: ["NET_BIND_SERVICE"] }).granted]).toEqual([
      "CAP_NET_BIND_SERVICE",
    ]);
  });

  it("add ALL then drop keeps everything the host has but the dropped", () => {
    const d = caps({ addCapabilities: ["ALL"], dropCapabilities: ["CHOWN"] });
    expect(d.granted.has("CAP_CHOWN")).toBe(false);
    expect(d.granted.size).toBe(HOST.boundingCapabilities.size - 1);
    expect(d.droppedByHost).toEqual(["CAP_NET_RAW", "CAP_SYS_RESOURCE"]);
  });

  it("ambient capabilities join every set, inheritable included", () => {
    const d = caps({
      dropCapabilities: ["ALL"],
      addAmbientCapabilities: ["NET_BIND_SERVICE", "SYS_RESOURCE"],
    });
    expect(d.capabilities.ambient).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(d.capabilities.inheritable).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(d.capabilities.bounding).toEqual(["CAP_NET_BIND_SERVICE"]);
    expect(d.droppedByHost).toEqual(["CAP_SYS_RESOURCE"]);
  });

  it("privileged: every capability of the host", async () => {
    const spec = await build(
      { linux: { securityContext: { privileged: true } } },
      { sandbox: privilegedSandbox() },
    );
    expect(spec.process?.capabilities?.bounding).toEqual(
      CAPABILITY_NAMES.filter((c) => HOST.boundingCapabilities.has(c)),
    );
  });

  it("never hands runc a capability outside the host bounding set", async () => {
    const spec = await build({ linux: { securityContext: { capabilities: { addCapabilities: ["ALL"] } } } });
    for (const set of Object.values(spec.process?.capabilities ?? {})) {
      for (const c of set as string[]) expect(HOST.boundingCapabilities.has(c)).toBe(true);
    }
  });

  it("refuses a privileged container in an unprivileged sandbox", async () => {
    expect(await fieldOf(build({ linux: { securityContext: { privileged: true } } }))).toBe(
      "config.linux.security_context.privileged",
    );
  });
});

describe("masked and read-only paths", () => {
  it("defaults", async () => {
    const spec = await build();
    expect(spec.linux?.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux?.readonlyPaths).toEqual(DEFAULT_READONLY_PATHS);
  });

  it("given lists replace the defaults", async () => {
    const spec = await build({
      linux: { securityContext: { maskedPaths: ["/proc/x"], readonlyPaths: ["/proc/y"] } },
    });
    expect(spec.linux?.maskedPaths).toEqual(["/proc/x"]);
    expect(spec.linux?.readonlyPaths).toEqual(["/proc/y"]);
  });

  it("privileged: none", async () => {
    const spec = await build(
      { linux: { securityContext: { privileged: true } } },
      { sandbox: privilegedSandbox() },
    );
    expect(spec.linux?.maskedPaths).toBeUndefined();
    expect(spec.linux?.readonlyPaths).toBeUndefined();
  });
});

describe("mounts", () => {
  const destinations = (spec: Awaited<ReturnType<typeof build>>) => spec.mounts?.map((m) => m.destination);

  it("defaults, sandbox files, then CRI mounts", async () => {
    const spec = await build({
      mounts: [
        { containerPath: "/data/inner", hostPath: join(base, "logs") },
        { containerPath: "/data", hostPath: join(base, "data-link"), readonly: true },
        { containerPath: "/logs", hostPath: join(base, "logs") },
      ],
    });
    expect(destinations(spec)).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/mqueue",
      "/dev/shm",
      "/sys",
      "/sys/fs/cgroup",
      "/etc/hostname",
      "/etc/hosts",
      "/etc/resolv.conf",
      // Parents before children so that /data does not hide /data/inner; otherwise in order.
      "/data",
      "/logs",
      "/data/inner",
    ]);
    const data = spec.mounts?.find((m) => m.destination === "/data");
    expect(data).toEqual({
      destination: "/data",
      type: "bind",
      source: join(base, "data"),
      options: ["rbind", "rprivate", "ro"],
    });
    expect(spec.mounts?.find((m) => m.destination === "/dev/shm")).toEqual({
      destination: "/dev/shm",
      type: "bind",
      source: join(base, "shm"),
      options: ["rbind", "rprivate", "rw"],
    });
    expect(spec.mounts?.find((m) => m.destination === "/sys")?.options).toContain("ro");
    expect(spec.mounts?.find((m) => m.destination === "/sys/fs/cgroup")?.options).toContain("ro");
    expect(spec.mounts?.find((m) => m.destination === "/etc/hosts")?.options).toContain("rw");
    expect(spec.linux?.rootfsPropagation).toBeUndefined();
  });

  it("a private /dev/shm without a sandbox shm, and the /dev default as users know it", async () => {
    const spec = await build({}, { sandbox: sandboxContext({ shmPath: undefined }) });
    expect(spec.mounts?.find((m) => m.destination === "/dev/shm")).toMatchObject({ type: "tmpfs" });
    expect(spec.mounts?.find((m) => m.destination === "/dev/shm")?.options).toContain("size=65536k");
    expect(spec.mounts?.find((m) => m.destination === "/dev")?.options).toEqual([
      "nosuid",
      "strictatime",
      "mode=755",
      "size=65536k",
    ]);
  });

  it.each<[MountPropagation, string, string | undefined]>([
    [MountPropagation.PROPAGATION_PRIVATE, "rprivate", undefined],
    [MountPropagation.PROPAGATION_HOST_TO_CONTAINER, "rslave", "rslave"],
    [MountPropagation.PROPAGATION_BIDIRECTIONAL, "rshared", "rshared"],
  ])("propagation %s -> %s", async (propagation, option, rootfsPropagation) => {
    const spec = await build({
      mounts: [{ containerPath: "/data", hostPath: join(base, "data"), propagation }],
    });
    expect(spec.mounts?.at(-1)?.options).toEqual(["rbind", option, "rw"]);
    expect(spec.linux?.rootfsPropagation).toBe(rootfsPropagation);
  });

  it("rshared wins when both kinds are present", async () => {
    const spec = await build({
      mounts: [
        {
          containerPath: "/a",
          hostPath: join(base, "data"),
          propagation: MountPropagation.PROPAGATION_BIDIRECTIONAL,
        },
        {
          containerPath: "/b",
          hostPath: join(base, "logs"),
          propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
        },
      ],
    });
    expect(spec.linux?.rootfsPropagation).toBe("rshared");
  });

  it("a missing host path names the mount's field", async () => {
    const field = await fieldOf(
      build({
        mounts: [
          { containerPath: "/data", hostPath: join(base, "data") },
          { containerPath: "/gone", hostPath: join(base, "does-not-exist") },
        ],
      }),
    );
    expect(field).toBe("config.mounts[1].host_path");
  });

  it("an explicit mount replaces the sandbox file on the same path", async () => {
    const own = join(base, "logs");
    const spec = await build({ mounts: [{ containerPath: "/etc/resolv.conf", hostPath: own }] });
    const resolv = spec.mounts?.filter((m) => m.destination === "/etc/resolv.conf");
    expect(resolv).toHaveLength(1);
    expect(resolv?.[0]?.source).toBe(own);
    expect(destinations(spec)).toContain("/etc/hosts");
  });

  it("a CRI mount of /dev replaces every default under /dev", async () => {
    const spec = await build({ mounts: [{ containerPath: "/dev", hostPath: join(base, "data") }] });
    expect(destinations(spec)?.filter((d) => d?.startsWith("/dev"))).toEqual(["/dev"]);
    expect(spec.mounts?.find((m) => m.destination === "/dev")?.type).toBe("bind");
  });

  it("read-only rootfs: root.readonly and read-only sandbox files", async () => {
    const spec = await build({ linux: { securityContext: { readonlyRootfs: true } } });
    expect(spec.root).toEqual({ path: rootfs, readonly: true });
    for (const file of ["/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]) {
      expect(spec.mounts?.find((m) => m.destination === file)?.options).toContain("ro");
    }
  });

  it("privileged: /sys and cgroups writable", async () => {
    const spec = await build(
      { linux: { securityContext: { privileged: true } } },
      { sandbox: privilegedSandbox() },
    );
    expect(spec.mounts?.find((m) => m.destination === "/sys")?.options).toContain("rw");
    expect(spec.mounts?.find((m) => m.destination === "/sys/fs/cgroup")?.options).toContain("rw");
  });

  const rroMount = () => ({
    containerPath: "/data",
    hostPath: join(base, "data"),
    readonly: true,
    recursiveReadOnly: true,
  });

  it("recursive read-only mounts get runc's rro option where the host supports them", async () => {
    const spec = await build(
      { mounts: [rroMount()] },
      { host: { ...HOST, recursiveReadOnlyMounts: { supported: true, reason: "" } } },
    );
    expect(spec.mounts?.find((m) => m.destination === "/data")?.options).toEqual([
      "rbind",
      "rprivate",
      "ro",
      "rro",
    ]);
  });

  it("rejects recursive read-only mounts where the host cannot make them, saying why", async () => {
    const unsupported = {
      ...HOST,
      recursiveReadOnlyMounts: { supported: false, reason: "kernel 5.10 is too old" },
    };
    const err = await build({ mounts: [rroMount()] }, { host: unsupported }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe("config.mounts[0].recursive_read_only");
    expect((err as Error).message).toContain("kernel 5.10 is too old");
    // Unprobed counts as unsupported.
    expect(await fieldOf(build({ mounts: [rroMount()] }))).toBe("config.mounts[0].recursive_read_only");
  });
});

describe("devices", () => {
  it("deny all, then the standard devices, then the requested ones", async () => {
    const spec = await build({
      devices: [
        { containerPath: "/dev/mine", hostPath: join(base, "devs", "mynull"), permissions: "rw" },
        { containerPath: "/dev/loop0", hostPath: join(base, "devs", "loop"), permissions: "" },
      ],
    });
    expect(spec.linux?.devices).toEqual([
      { path: "/dev/mine", type: "c", major: 1, minor: 3, fileMode: 0o660, uid: 0, gid: 0 },
      { path: "/dev/loop0", type: "b", major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 0 },
    ]);
    const rules = spec.linux?.resources?.devices ?? [];
    expect(rules[0]).toEqual({ allow: false, access: "rwm" });
    expect(rules).toContainEqual({ allow: true, type: "c", major: 1, minor: 3, access: "rwm" });
    expect(rules.slice(-2)).toEqual([
      { allow: true, type: "c", major: 1, minor: 3, access: "rw" },
      { allow: true, type: "b", major: 7, minor: 0, access: "rwm" },
    ]);
  });

  it("a host directory brings every device under it", async () => {
    const spec = await build({
      devices: [{ containerPath: "/dev/set", hostPath: join(base, "devs"), permissions: "r" }],
    });
    expect(spec.linux?.devices?.map((d) => [d.path, d.type, d.major, d.minor])).toEqual([
      ["/dev/set/loop", "b", 7, 0],
      ["/dev/set/mynull", "c", 1, 3],
      ["/dev/set/sub/zero", "c", 1, 5],
    ]);
  });

  it("names the field of a missing or non-device host path", async () => {
    expect(
      await fieldOf(
        build({ devices: [{ containerPath: "/dev/x", hostPath: join(base, "nope"), permissions: "r" }] }),
      ),
    ).toBe("config.devices[0].host_path");
    expect(
      await fieldOf(
        build({
          devices: [
            { containerPath: "/dev/x", hostPath: join(base, "devs", "mynull"), permissions: "r" },
            { containerPath: "/dev/y", hostPath: join(base, "devs", "plain-file"), permissions: "r" },
          ],
        }),
      ),
    ).toBe("config.devices[1].host_path");
  });

  it("privileged: every host device and an allow-all rule", async () => {
    const spec = await build(
      { linux: { securityContext: { privileged: true } } },
      { sandbox: privilegedSandbox() },
    );
    expect(spec.linux?.devices?.map((d) => d.path)).toEqual(["/dev/null", "/dev/sda", "/dev/snd/timer"]);
    expect(spec.linux?.resources?.devices).toEqual([{ allow: true, access: "rwm" }]);
  });
});

describe("namespaces", () => {
  const ns = async (partial: ContainerPartial, overrides: Partial<ContainerSpecInput> = {}) =>
    (await build(partial, overrides)).linux?.namespaces;
  const pidMode = (pid: NamespaceMode, targetId = "") => ({
    linux: { securityContext: { namespaceOptions: { pid, targetId } } },
  });

  it("POD: joins the infra's network, IPC, UTS and PID namespaces", async () => {
    expect(await ns(pidMode(NamespaceMode.POD))).toEqual([
      { type: "mount" },
      { type: "network", path: "/run/berth/netns/sb-1" },
      { type: "ipc", path: `/proc/${INFRA_PID}/ns/ipc` },
      { type: "uts", path: `/proc/${INFRA_PID}/ns/uts` },
      { type: "pid", path: `/proc/${INFRA_PID}/ns/pid` },
      { type: "cgroup" },
    ]);
  });

  it("CONTAINER: a new PID namespace", async () => {
    expect(await ns(pidMode(NamespaceMode.CONTAINER))).toContainEqual({ type: "pid" });
  });

  it("NODE: no PID namespace entry", async () => {
    expect((await ns(pidMode(NamespaceMode.NODE)))?.some((n) => n.type === "pid")).toBe(false);
  });

  it("TARGET: the target container's PID namespace", async () => {
    expect(await ns(pidMode(NamespaceMode.TARGET, "c-0"), { targetPid: 777 })).toContainEqual({
      type: "pid",
      path: "/proc/777/ns/pid",
    });
    expect(await fieldOf(build(pidMode(NamespaceMode.TARGET, "c-0")))).toBe(
      "config.linux.security_context.namespace_options.target_id",
    );
  });

  it("host network: neither network nor UTS entries", async () => {
    const list = await ns({}, { sandbox: sandboxContext({ netnsPath: undefined }) });
    expect(list?.map((n) => n.type)).toEqual(["mount", "ipc", "pid", "cgroup"]);
  });

  it("host IPC: no IPC entry", async () => {
    const config = sandboxConfig({
      linux: { securityContext: { namespaceOptions: { ipc: NamespaceMode.NODE } } },
    });
    const list = await ns({}, { sandbox: sandboxContext({ shmPath: undefined }, config) });
    expect(list?.map((n) => n.type)).toEqual(["mount", "network", "uts", "pid", "cgroup"]);
  });

  it("containers never set a hostname (they share the infra's UTS)", async () => {
    expect((await build()).hostname).toBeUndefined();
  });
});

describe("resources and sysctls", () => {
  it("maps CRI resources to linux.resources", async () => {
    const spec = await build({
      linux: {
        resources: {
          cpuShares: 512n,
          cpuQuota: 50000n,
          cpuPeriod: 100000n,
          cpusetCpus: "0-1",
          cpusetMems: "0",
          memoryLimitInBytes: 268435456n,
          memorySwapLimitInBytes: 536870912n,
          hugepageLimits: [{ pageSize: "2MB", limit: 2097152n }],
          unified: { "memory.high": "200M" },
        },
      },
    });
    const { devices: _devices, ...resources } = spec.linux?.resources ?? {};
    expect(resources).toEqual({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0" },
      memory: { limit: 268435456, swap: 536870912 },
      hugepageLimits: [{ pageSize: "2MB", limit: 2097152 }],
      unified: { "memory.high": "200M" },
    });
  });

  it("leaves unset resources out", () => {
    expect(ociResources(undefined)).toEqual({});
    expect(
      ociResources(ContainerConfig.fromPartial({ linux: { resources: { cpuQuota: -1n } } }).linux?.resources),
    ).toEqual({
      cpu: { quota: -1 },
    });
  });

  it("refuses quantities a JSON number would round, naming the field under the given prefix", async () => {
    const huge = 2n ** 53n;
    const resources = (partial: Parameters<typeof LinuxContainerResources.fromPartial>[0]) =>
      LinuxContainerResources.fromPartial(partial);
    // The async wrapper turns a throw into a rejection fieldOf can read.
    const fieldOfMapping = (res: LinuxContainerResources, prefix?: string) =>
      fieldOf((async () => ociResources(res, prefix))());
    const P = "config.linux.resources";
    expect(await fieldOfMapping(resources({ cpuQuota: huge }))).toBe(`${P}.cpu_quota`);
    expect(await fieldOfMapping(resources({ cpuPeriod: huge }), "linux")).toBe("linux.cpu_period");
    expect(await fieldOfMapping(resources({ cpuShares: huge }), "linux")).toBe("linux.cpu_shares");
    expect(await fieldOfMapping(resources({ memoryLimitInBytes: 2n ** 63n - 1n }))).toBe(
      `${P}.memory_limit_in_bytes`,
    );
    const hugepageLimits = [
      { pageSize: "2MB", limit: 1n },
      { pageSize: "1GB", limit: huge },
    ];
    expect(await fieldOfMapping(resources({ hugepageLimits }))).toBe(`${P}.hugepage_limits[1].limit`);
    expect(ociResources(resources({ memoryLimitInBytes: huge - 1n }))).toEqual({
      memory: { limit: Number.MAX_SAFE_INTEGER },
    });
    expect(await fieldOf(build({ linux: { resources: { memorySwapLimitInBytes: huge } } }))).toBe(
      "config.linux.resources.memory_swap_limit_in_bytes",
    );
  });

  it("applies the sandbox's sysctls, slash form normalized", async () => {
    const config = sandboxConfig({
      linux: { sysctls: { "net.ipv4.ip_unprivileged_port_start": "0", "kernel/shmmni": "8" } },
    });
    const spec = await build({}, { sandbox: sandboxContext({}, config) });
    expect(spec.linux?.sysctl).toEqual({ "net.ipv4.ip_unprivileged_port_start": "0", "kernel.shmmni": "8" });
    expect((await build()).linux?.sysctl).toBeUndefined();
  });
});

describe("seccomp", () => {
  const withSeccomp = (profileType: SecurityProfile_ProfileType, localhostRef = "") => ({
    linux: { securityContext: { seccomp: { profileType, localhostRef } } },
  });

  it("none when unset or Unconfined", async () => {
    expect((await build()).linux?.seccomp).toBeUndefined();
    expect((await build(withSeccomp(SecurityProfile_ProfileType.Unconfined))).linux?.seccomp).toBeUndefined();
  });

  it("RuntimeDefault follows the granted capabilities", async () => {
    const spec = await build({
      linux: {
        securityContext: {
          seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
          capabilities: { addCapabilities: ["SYS_PTRACE"] },
        },
      },
    });
    const granted = new Set(spec.process?.capabilities?.bounding);
    expect(spec.linux?.seccomp).toEqual(defaultSeccompProfile(granted, "x64"));
    expect(spec.linux?.seccomp?.syscalls?.[0]?.names).not.toContain("ptrace");
  });

  it("privileged: none", async () => {
    const spec = await build(
      {
        linux: {
          securityContext: {
            privileged: true,
            seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
          },
        },
      },
      { sandbox: privilegedSandbox() },
    );
    expect(spec.linux?.seccomp).toBeUndefined();
  });

  it("Localhost: a missing file names localhost_ref", async () => {
    expect(
      await fieldOf(build(withSeccomp(SecurityProfile_ProfileType.Localhost, join(base, "none.json")))),
    ).toBe("config.linux.security_context.seccomp.localhost_ref");
  });

  it("Localhost: the file's profile", async () => {
    const path = join(base, "profile.json");
    await writeFile(path, JSON.stringify({ defaultAction: "SCMP_ACT_LOG" }));
    expect((await build(withSeccomp(SecurityProfile_ProfileType.Localhost, path))).linux?.seccomp).toEqual({
      defaultAction: "SCMP_ACT_LOG",
    });
  });
});

describe("annotations and the rest", () => {
  it("adds berth's annotations over the config's", async () => {
    const spec = await build({ annotations: { team: "a", [ANNOTATION.containerType]: "spoofed" } });
    expect(spec.annotations).toEqual({
      team: "a",
      [ANNOTATION.containerType]: "container",
      [ANNOTATION.containerName]: "app",
      [ANNOTATION.sandboxId]: "sb-1",
      [ANNOTATION.sandboxName]: "web",
      [ANNOTATION.sandboxNamespace]: "shop",
      [ANNOTATION.sandboxUid]: "pod-uid",
      [ANNOTATION.imageName]: "registry.example/app:1",
    });
  });

  it("writes root, cgroups path and an OCI version runc 1.1 accepts", async () => {
    const spec = await build();
    expect(spec.ociVersion).toMatch(/^1\.0\./);
    expect(spec.root).toEqual({ path: rootfs, readonly: false });
    expect(spec.linux?.cgroupsPath).toBe("/berth/pods/burstable/pod-uid/c-1");
    // Survives a JSON round trip unchanged: no undefined fields or non-JSON values.
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });
});

describe("buildInfraSpec", () => {
  // netnsPath null: host network (a default parameter would swallow an explicit undefined).
  const infra = async (partial: SandboxPartial = {}, netnsPath: string | null = "/run/berth/netns/sb-1") => {
    const config = sandboxConfig(partial);
    return buildInfraSpec({
      sandboxId: "sb-1",
      config,
      netnsPath: netnsPath ?? undefined,
      rootfsPath: "/var/lib/berth/infra/rootfs",
      cgroupsPath: "/berth/pods/burstable/pod-uid/sb-1",
      host: HOST,
      args: ["/pause"],
      seccomp: await infraSeccomp(config, HOST, "x64"),
    });
  };

  it("a minimal, read-only, unprivileged process", async () => {
    const spec = await infra({ annotations: { note: "x" } });
    expect(spec.process).toMatchObject({
      args: ["/pause"],
      user: { uid: 0, gid: 0, additionalGids: [0] },
      cwd: "/",
      terminal: false,
      noNewPrivileges: true,
      oomScoreAdj: -100,
      env: [DEFAULT_PATH_ENV],
    });
    expect(spec.process?.capabilities?.bounding).toEqual(
      DEFAULT_CAPABILITIES.filter((c) => HOST.boundingCapabilities.has(c)).sort(
        (a, b) => CAPABILITY_NAMES.indexOf(a) - CAPABILITY_NAMES.indexOf(b),
      ),
    );
    expect(spec.root).toEqual({ path: "/var/lib/berth/infra/rootfs", readonly: true });
    expect(spec.hostname).toBe("web-0");
    expect(spec.linux?.resources).toEqual({ devices: expect.any(Array) });
    expect(spec.linux?.cgroupsPath).toBe("/berth/pods/burstable/pod-uid/sb-1");
    expect(spec.linux?.maskedPaths).toEqual(DEFAULT_MASKED_PATHS);
    expect(spec.linux?.seccomp).toBeUndefined();
    expect(spec.annotations).toEqual({
      note: "x",
      [ANNOTATION.containerType]: "sandbox",
      [ANNOTATION.sandboxId]: "sb-1",
      [ANNOTATION.sandboxName]: "web",
      [ANNOTATION.sandboxNamespace]: "shop",
      [ANNOTATION.sandboxUid]: "pod-uid",
      [ANNOTATION.sandboxLogDirectory]: "/var/log/pods/shop_web_pod-uid",
    });
  });

  it("keeps oom_score_adj near the bottom when the host allows it", async () => {
    const spec = buildInfraSpec({
      sandboxId: "s",
      config: sandboxConfig(),
      rootfsPath: "/r",
      cgroupsPath: "c",
      host: { ...HOST, minOomScoreAdj: -1000 },
      args: ["/pause"],
      seccomp: undefined,
    });
    expect(spec.process?.oomScoreAdj).toBe(-998);
  });

  it.each<[string, { network?: NamespaceMode; ipc?: NamespaceMode; pid?: NamespaceMode }, boolean, string[]]>(
    [
      [
        "own everything",
        { pid: NamespaceMode.POD },
        true,
        ["mount", "network", "ipc", "uts", "pid", "cgroup"],
      ],
      [
        "pid CONTAINER still gets a pid namespace",
        { pid: NamespaceMode.CONTAINER },
        true,
        ["mount", "network", "ipc", "uts", "pid", "cgroup"],
      ],
      ["host pid", { pid: NamespaceMode.NODE }, true, ["mount", "network", "ipc", "uts", "cgroup"]],
      ["host ipc", { ipc: NamespaceMode.NODE }, true, ["mount", "network", "uts", "pid", "cgroup"]],
      ["host network", { network: NamespaceMode.NODE }, false, ["mount", "ipc", "pid", "cgroup"]],
    ],
  )("namespaces: %s", async (_label, namespaceOptions, ownNetwork, expected) => {
    const spec = await infra(
      { linux: { securityContext: { namespaceOptions } } },
      ownNetwork ? "/run/berth/netns/sb-1" : null,
    );
    expect(spec.linux?.namespaces?.map((n) => n.type)).toEqual(expected);
    expect(spec.linux?.namespaces?.find((n) => n.type === "network")?.path).toBe(
      ownNetwork ? "/run/berth/netns/sb-1" : undefined,
    );
    expect(spec.linux?.namespaces?.every((n) => n.type === "network" || n.path === undefined)).toBe(true);
    expect(spec.hostname).toBe(ownNetwork ? "web-0" : undefined);
  });

  it("runs as the sandbox's run_as_user / run_as_group when given", async () => {
    const spec = await infra({
      linux: {
        securityContext: {
          runAsUser: { value: 65535n },
          runAsGroup: { value: 65534n },
          supplementalGroups: [5n],
        },
      },
    });
    expect(spec.process?.user).toEqual({ uid: 65535, gid: 65534, additionalGids: [65534, 5] });
  });

  it("applies the sandbox's seccomp profile and sysctls", async () => {
    const spec = await infra({
      linux: {
        sysctls: { "kernel.shm_rmid_forced": "1" },
        securityContext: {
          seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: "" },
        },
      },
    });
    expect(spec.linux?.seccomp).toEqual(
      defaultSeccompProfile(new Set(spec.process?.capabilities?.bounding), "x64"),
    );
    expect(spec.linux?.sysctl).toEqual({ "kernel.shm_rmid_forced": "1" });
  });

  it("a missing Localhost seccomp file names the field", async () => {
    await expect(
      infra({
        linux: {
          securityContext: {
            seccomp: {
              profileType: SecurityProfile_ProfileType.Localhost,
              localhostRef: join(base, "missing.json"),
            },
          },
        },
      }),
    ).rejects.toThrow(/config.linux.security_context.seccomp.localhost_ref/);
  });
});
