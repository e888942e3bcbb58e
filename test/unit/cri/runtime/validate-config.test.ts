import { describe, expect, it } from "vitest";
import { BerthError, InvalidArgumentError } from "../../../../common/errors.js";
import {
  ContainerConfig,
  LinuxContainerResources,
  MountPropagation,
  NamespaceMode,
  PodSandboxConfig,
  SecurityProfile_ProfileType,
} from "../../../../cri/api/generated/api.js";
import {
  int64ToNumber,
  isValidCpuset,
  normalizeSysctlName,
  sysctlNamespace,
  validateContainerConfig,
  validateLinuxResources,
  validatePodSandboxConfig,
} from "../../../../cri/runtime/validate-config.js";

type SandboxPartial = Parameters<typeof PodSandboxConfig.fromPartial>[0];
type ContainerPartial = Parameters<typeof ContainerConfig.fromPartial>[0];
type ResourcesPartial = Parameters<typeof LinuxContainerResources.fromPartial>[0];

function sandbox(partial: SandboxPartial = {}): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name: "web", namespace: "default", uid: "0b1c", attempt: 0 },
    hostname: "web",
    ...partial,
  });
}

function container(partial: ContainerPartial = {}): ContainerConfig {
  return ContainerConfig.fromPartial({ metadata: { name: "app" }, image: { image: "busybox" }, ...partial });
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.field;
    throw err;
  }
  throw new Error("no error thrown");
}

describe("validatePodSandboxConfig", () => {
  it("accepts a plain config and returns it", () => {
    const config = sandbox();
    expect(validatePodSandboxConfig(config)).toBe(config);
  });

  it.each<[string, SandboxPartial | undefined, string]>([
    ["missing config", undefined, "config"],
    ["missing metadata", { metadata: undefined }, "config.metadata"],
    ["empty name", { metadata: { name: "", namespace: "default", uid: "u" } }, "config.metadata.name"],
    [
      "slash in namespace",
      { metadata: { name: "a", namespace: "x/y", uid: "u" } },
      "config.metadata.namespace",
    ],
    ["empty uid", { metadata: { name: "a", namespace: "n", uid: "" } }, "config.metadata.uid"],
    ["long hostname", { hostname: "h".repeat(65) }, "config.hostname"],
    ["hostname with a space", { hostname: "a b" }, "config.hostname"],
    ["relative log directory", { logDirectory: "logs" }, "config.log_directory"],
    [
      "dns server not an IP",
      { dnsConfig: { servers: ["8.8.8.8", "dns.example"] } },
      "config.dns_config.servers[1]",
    ],
    ["container port 0", { portMappings: [{ containerPort: 0 }] }, "config.port_mappings[0].container_port"],
    [
      "host port too big",
      { portMappings: [{ containerPort: 80, hostPort: 70000 }] },
      "config.port_mappings[0].host_port",
    ],
    [
      "run_as_group without run_as_user",
      { linux: { securityContext: { runAsGroup: { value: 5 } } } },
      "config.linux.security_context.run_as_group",
    ],
    [
      "CONTAINER network",
      { linux: { securityContext: { namespaceOptions: { network: NamespaceMode.CONTAINER } } } },
      "config.linux.security_context.namespace_options.network",
    ],
    [
      "TARGET pid for a sandbox",
      { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.TARGET, targetId: "x" } } } },
      "config.linux.security_context.namespace_options.pid",
    ],
    [
      "relative seccomp localhost_ref",
      {
        linux: {
          securityContext: {
            seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: "p.json" },
          },
        },
      },
      "config.linux.security_context.seccomp.localhost_ref",
    ],
    [
      "bad pod resources",
      { linux: { resources: { memoryLimitInBytes: 1024 } } },
      "config.linux.resources.memory_limit_in_bytes",
    ],
    ["bad overhead", { linux: { overhead: { cpuShares: 1 } } }, "config.linux.overhead.cpu_shares"],
    [
      "run_as_user past the largest id",
      { linux: { securityContext: { runAsUser: { value: 0xffffffffn } } } },
      "config.linux.security_context.run_as_user",
    ],
    [
      "negative supplemental group",
      { linux: { securityContext: { supplementalGroups: [1n, -1n] } } },
      "config.linux.security_context.supplemental_groups[1]",
    ],
  ])("rejects %s", (_label, partial, field) => {
    expect(
      fieldOf(() => validatePodSandboxConfig(partial === undefined ? undefined : sandbox(partial))),
    ).toBe(field);
  });

  it("accepts a user namespace with one uid and the same gid mapping, refuses half of one", () => {
    const withUserns = (gids: { hostId: number; containerId: number; length: number }[]) =>
      sandbox({
        linux: {
          securityContext: {
            namespaceOptions: {
              usernsOptions: {
                mode: NamespaceMode.POD,
                uids: [{ hostId: 100000, containerId: 0, length: 65536 }],
                gids,
              },
            },
          },
        },
      });
    expect(() =>
      validatePodSandboxConfig(withUserns([{ hostId: 100000, containerId: 0, length: 65536 }])),
    ).not.toThrow();
    expect(fieldOf(() => validatePodSandboxConfig(withUserns([])))).toBe(
      "config.linux.security_context.namespace_options.userns_options.gids",
    );
  });
});

describe("sysctls", () => {
  const withSysctls = (
    sysctls: Record<string, string>,
    ns: { network?: NamespaceMode; ipc?: NamespaceMode } = {},
  ) => sandbox({ linux: { sysctls, securityContext: { namespaceOptions: ns } } });

  it.each([
    "kernel.shm_rmid_forced",
    "kernel.shmmax",
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "fs.mqueue.msg_max",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.rp_filter",
    "net.core.somaxconn",
    "kernel/shm_rmid_forced",
  ])("accepts the namespaced %s", (name) => {
    expect(() => validatePodSandboxConfig(withSysctls({ [name]: "1" }))).not.toThrow();
  });

  it.each(["kernel.panic", "vm.swappiness", "fs.file-max", "kernel.msgmax_extra", "kernel.sysrq"])(
    "rejects the node-wide %s, naming it",
    (name) => {
      expect(fieldOf(() => validatePodSandboxConfig(withSysctls({ [name]: "1" })))).toBe(
        `config.linux.sysctls["${name}"]`,
      );
    },
  );

  it("rejects net.* with host networking and IPC sysctls with host IPC", () => {
    expect(
      fieldOf(() =>
        validatePodSandboxConfig(
          withSysctls({ "net.ipv4.ip_forward": "1" }, { network: NamespaceMode.NODE }),
        ),
      ),
    ).toBe('config.linux.sysctls["net.ipv4.ip_forward"]');
    expect(
      fieldOf(() =>
        validatePodSandboxConfig(withSysctls({ "kernel.shmmax": "1" }, { ipc: NamespaceMode.NODE })),
      ),
    ).toBe('config.linux.sysctls["kernel.shmmax"]');
    expect(() =>
      validatePodSandboxConfig(withSysctls({ "kernel.shmmax": "1" }, { network: NamespaceMode.NODE })),
    ).not.toThrow();
  });

  it("rejects names that are not sysctl names", () => {
    expect(fieldOf(() => validatePodSandboxConfig(withSysctls({ "net..x": "1" })))).toBe(
      'config.linux.sysctls["net..x"]',
    );
    expect(fieldOf(() => validatePodSandboxConfig(withSysctls({ "/net/x": "1" })))).toBe(
      'config.linux.sysctls["/net/x"]',
    );
  });

  it("normalizes the slash form and classifies names", () => {
    expect(normalizeSysctlName("net/ipv4/conf/eno2.100/rp_filter")).toBe("net.ipv4.conf.eno2/100.rp_filter");
    expect(normalizeSysctlName("net.ipv4.ip_forward")).toBe("net.ipv4.ip_forward");
    expect(sysctlNamespace("fs/mqueue/queues_max")).toBe("ipc");
    expect(sysctlNamespace("vm.overcommit_memory")).toBeUndefined();
  });
});

const TWO_TO_53 = 2n ** 53n;
const INT64_MAX = 2n ** 63n - 1n;

describe("int64ToNumber", () => {
  it("converts values a number holds exactly, negative ones too", () => {
    expect(int64ToNumber(0n, "f")).toBe(0);
    expect(int64ToNumber(-1n, "f")).toBe(-1);
    expect(int64ToNumber(TWO_TO_53 - 1n, "f")).toBe(Number.MAX_SAFE_INTEGER);
    expect(int64ToNumber(1n - TWO_TO_53, "f")).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it("refuses values it would round, naming the field", () => {
    expect(fieldOf(() => int64ToNumber(TWO_TO_53, "config.x"))).toBe("config.x");
    expect(fieldOf(() => int64ToNumber(-TWO_TO_53, "config.x"))).toBe("config.x");
    expect(fieldOf(() => int64ToNumber(INT64_MAX, "config.x"))).toBe("config.x");
  });
});

describe("validateLinuxResources", () => {
  const P = "config.linux.resources";
  const res = (partial: ResourcesPartial) => LinuxContainerResources.fromPartial(partial);

  it("accepts unset and sensible values", () => {
    expect(() => validateLinuxResources(res({}), P)).not.toThrow();
    expect(() =>
      validateLinuxResources(
        res({
          cpuPeriod: 100000n,
          cpuQuota: 50000n,
          cpuShares: 1024n,
          memoryLimitInBytes: 64n * 1024n * 1024n,
          memorySwapLimitInBytes: 128n * 1024n * 1024n,
          oomScoreAdj: -997n,
          cpusetCpus: "0-3,5",
          cpusetMems: "0",
          hugepageLimits: [{ pageSize: "2MB", limit: 4194304n }],
          unified: { "memory.high": "1G", "hugetlb.2MB.max": "0" },
        }),
        P,
      ),
    ).not.toThrow();
    // -1 lifts a CPU limit.
    expect(() => validateLinuxResources(res({ cpuQuota: -1n }), P)).not.toThrow();
    expect(() => validateLinuxResources(res({ memoryLimitInBytes: 6n * 1024n * 1024n }), P)).not.toThrow();
  });

  it.each<[string, ResourcesPartial, string]>([
    ["negative period", { cpuPeriod: -1n }, "cpu_period"],
    ["period too short", { cpuPeriod: 999n }, "cpu_period"],
    ["period too long", { cpuPeriod: 1_000_001n }, "cpu_period"],
    ["negative quota", { cpuQuota: -2n }, "cpu_quota"],
    ["quota below 1ms", { cpuQuota: 999n }, "cpu_quota"],
    ["negative shares", { cpuShares: -5n }, "cpu_shares"],
    ["shares of 1", { cpuShares: 1n }, "cpu_shares"],
    ["shares too high", { cpuShares: 262145n }, "cpu_shares"],
    ["negative memory", { memoryLimitInBytes: -1n }, "memory_limit_in_bytes"],
    ["memory below 6 MiB", { memoryLimitInBytes: 6n * 1024n * 1024n - 1n }, "memory_limit_in_bytes"],
    ["negative swap", { memorySwapLimitInBytes: -1n }, "memory_swap_limit_in_bytes"],
    [
      "swap below memory",
      { memoryLimitInBytes: 64n * 1024n * 1024n, memorySwapLimitInBytes: 32n * 1024n * 1024n },
      "memory_swap_limit_in_bytes",
    ],
    ["oom_score_adj too low", { oomScoreAdj: -1001n }, "oom_score_adj"],
    ["oom_score_adj too high", { oomScoreAdj: 1001n }, "oom_score_adj"],
    ["cpuset words", { cpusetCpus: "all" }, "cpuset_cpus"],
    ["cpuset backwards range", { cpusetCpus: "3-1" }, "cpuset_cpus"],
    ["cpuset mems dangling", { cpusetMems: "0-" }, "cpuset_mems"],
    ["hugepage size", { hugepageLimits: [{ pageSize: "2M", limit: 1n }] }, "hugepage_limits[0].page_size"],
    ["hugepage limit", { hugepageLimits: [{ pageSize: "1GB", limit: -1n }] }, "hugepage_limits[0].limit"],
    ["unified path", { unified: { "../memory.max": "1" } }, 'unified["../memory.max"]'],
    ["unified cgroup.procs", { unified: { "cgroup.procs": "1" } }, 'unified["cgroup.procs"]'],
    ["quota past 2^53", { cpuQuota: TWO_TO_53 }, "cpu_quota"],
    ["memory of int64 max", { memoryLimitInBytes: INT64_MAX }, "memory_limit_in_bytes"],
    ["swap past 2^53", { memorySwapLimitInBytes: TWO_TO_53 }, "memory_swap_limit_in_bytes"],
    [
      "hugepage limit past 2^53",
      { hugepageLimits: [{ pageSize: "2MB", limit: TWO_TO_53 }] },
      "hugepage_limits[0].limit",
    ],
  ])("rejects %s", (_label, partial, field) => {
    expect(fieldOf(() => validateLinuxResources(res(partial), P))).toBe(`${P}.${field}`);
  });

  it("accepts the largest quantities a JSON number carries exactly", () => {
    const largest = BigInt(Number.MAX_SAFE_INTEGER);
    expect(() =>
      validateLinuxResources(
        res({ cpuQuota: largest, memoryLimitInBytes: largest, memorySwapLimitInBytes: largest }),
        P,
      ),
    ).not.toThrow();
  });

  it("parses cpu lists", () => {
    expect(isValidCpuset("")).toBe(true);
    expect(isValidCpuset("0")).toBe(true);
    expect(isValidCpuset("0-3,5,7-7")).toBe(true);
    expect(isValidCpuset("0,,1")).toBe(false);
    expect(isValidCpuset(" 0")).toBe(false);
    expect(isValidCpuset("1-2-3")).toBe(false);
  });
});

describe("validateContainerConfig", () => {
  it("accepts a plain config and returns it", () => {
    const config = container({
      command: ["/bin/sh"],
      mounts: [
        {
          containerPath: "/data",
          hostPath: "/srv/data",
          propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
        },
      ],
      devices: [{ containerPath: "/dev/fuse", hostPath: "/dev/fuse", permissions: "rwm" }],
      linux: {
        securityContext: {
          runAsUsername: "app",
          runAsGroup: { value: 10 },
          capabilities: { addCapabilities: ["NET_ADMIN", "cap_sys_time", "ALL"], dropCapabilities: ["all"] },
          maskedPaths: ["/proc/kcore"],
        },
      },
    });
    expect(validateContainerConfig(config)).toBe(config);
  });

  it.each<[string, ContainerPartial | undefined, string]>([
    ["missing config", undefined, "config"],
    ["missing metadata", { metadata: undefined }, "config.metadata"],
    ["empty name", { metadata: { name: "" } }, "config.metadata.name"],
    ["missing image", { image: undefined }, "config.image.image"],
    ["relative working dir", { workingDir: "app" }, "config.working_dir"],
    ["env key with =", { envs: [{ key: "A=B", value: "c" }] }, "config.envs[0].key"],
    [
      "empty env key",
      {
        envs: [
          { key: "A", value: "1" },
          { key: "", value: "c" },
        ],
      },
      "config.envs[1].key",
    ],
    [
      "relative container path",
      { mounts: [{ containerPath: "data", hostPath: "/srv" }] },
      "config.mounts[0].container_path",
    ],
    [
      "container path with ..",
      { mounts: [{ containerPath: "/data/../../etc", hostPath: "/srv" }] },
      "config.mounts[0].container_path",
    ],
    [
      "mount over /",
      { mounts: [{ containerPath: "/", hostPath: "/srv" }] },
      "config.mounts[0].container_path",
    ],
    ["empty host path", { mounts: [{ containerPath: "/data", hostPath: "" }] }, "config.mounts[0].host_path"],
    [
      "relative host path",
      { mounts: [{ containerPath: "/data", hostPath: "srv" }] },
      "config.mounts[0].host_path",
    ],
    [
      "duplicate destination",
      {
        mounts: [
          { containerPath: "/data", hostPath: "/a" },
          { containerPath: "/data/", hostPath: "/b" },
        ],
      },
      "config.mounts[1].container_path",
    ],
    [
      "image volume",
      { mounts: [{ containerPath: "/data", hostPath: "", image: { image: "x" } }] },
      "config.mounts[0].image",
    ],
    [
      "recursive read-only without readonly",
      { mounts: [{ containerPath: "/data", hostPath: "/srv", recursiveReadOnly: true }] },
      "config.mounts[0].recursive_read_only",
    ],
    [
      "recursive read-only with non-private propagation",
      {
        mounts: [
          {
            containerPath: "/data",
            hostPath: "/srv",
            recursiveReadOnly: true,
            readonly: true,
            propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
          },
        ],
      },
      "config.mounts[0].recursive_read_only",
    ],
    [
      "device permissions",
      { devices: [{ containerPath: "/dev/x", hostPath: "/dev/null", permissions: "rwx" }] },
      "config.devices[0].permissions",
    ],
    [
      "relative device path",
      { devices: [{ containerPath: "dev/x", hostPath: "/dev/null" }] },
      "config.devices[0].container_path",
    ],
    ["CDI devices", { CDIDevices: [{ name: "vendor.com/gpu=0" }] }, "config.CDI_devices"],
    ["absolute log path", { logPath: "/var/log/x.log" }, "config.log_path"],
    ["climbing log path", { logPath: "../x.log" }, "config.log_path"],
    ["log path with a NUL byte", { logPath: "a\u0000b.log" }, "config.log_path"],
    ["bad resources", { linux: { resources: { cpuPeriod: 10 } } }, "config.linux.resources.cpu_period"],
    [
      "run_as_user with run_as_username",
      { linux: { securityContext: { runAsUser: { value: 1 }, runAsUsername: "app" } } },
      "config.linux.security_context.run_as_username",
    ],
    [
      "run_as_group alone",
      { linux: { securityContext: { runAsGroup: { value: 1 } } } },
      "config.linux.security_context.run_as_group",
    ],
    [
      "unknown capability",
      { linux: { securityContext: { capabilities: { dropCapabilities: ["CHOWN", "CAP_TELEPORT"] } } } },
      "config.linux.security_context.capabilities.drop_capabilities[1]",
    ],
    [
      "unknown ambient capability",
      { linux: { securityContext: { capabilities: { addAmbientCapabilities: ["FLY"] } } } },
      "config.linux.security_context.capabilities.add_ambient_capabilities[0]",
    ],
    [
      "relative masked path",
      { linux: { securityContext: { maskedPaths: ["proc/kcore"] } } },
      "config.linux.security_context.masked_paths[0]",
    ],
    [
      "relative readonly path",
      { linux: { securityContext: { readonlyPaths: ["/proc/sys", "sys"] } } },
      "config.linux.security_context.readonly_paths[1]",
    ],
    [
      "TARGET without target",
      { linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.TARGET } } } },
      "config.linux.security_context.namespace_options.target_id",
    ],
    [
      "AppArmor localhost",
      {
        linux: {
          securityContext: {
            apparmor: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: "p" },
          },
        },
      },
      "config.linux.security_context.apparmor.localhost_ref",
    ],
    [
      "legacy seccomp path",
      { linux: { securityContext: { seccompProfilePath: "localhost/p.json" } } },
      "config.linux.security_context.seccomp_profile_path",
    ],
  ])("rejects %s", (_label, partial, field) => {
    expect(
      fieldOf(() => validateContainerConfig(partial === undefined ? undefined : container(partial))),
    ).toBe(field);
  });

  it("throws berth errors, which carry a gRPC status", () => {
    let thrown: unknown;
    try {
      validateContainerConfig(container({ envs: [{ key: "", value: "" }] }));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(BerthError);
    expect((thrown as BerthError).grpcCode).toBe(3); // INVALID_ARGUMENT
  });
});
