import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../../../agent/config.js";
import {
  agentCheck,
  cgroupV2Check,
  clockCheck,
  cniCheck,
  configCheck,
  controllersCheck,
  conmonCheck,
  overlayCheck,
  psiCheck,
  runcCheck,
  socketPermissionsCheck,
  swapCheck,
  systemdCheck,
  userNamespacesCheck,
  type DoctorInputs,
} from "../../../../systemd/doctor/checks.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  LEGACY_MOUNTINFO,
  LEGACY_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
} from "../../cgroups/fixtures.js";
import { fakeProbe, type FakeHost } from "./fake-host.js";

function inputs(host: FakeHost, extra: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    probe: fakeProbe(host),
    config: defaultConfig(),
    configPath: "/etc/berth/config.yaml",
    socket: "/run/berth/berth.sock",
    agentVersion: async () => "berth 0.1.0 (CRI v1)",
    ...extra,
  };
}

const unifiedFiles = {
  "/proc/self/mountinfo": UNIFIED_MOUNTINFO,
  "/proc/self/cgroup": UNIFIED_PROC_CGROUP,
};
const hybridFiles = { "/proc/self/mountinfo": HYBRID_MOUNTINFO, "/proc/self/cgroup": HYBRID_PROC_CGROUP };

describe("configCheck", () => {
  it("fails with the loader's words when the config is unusable", async () => {
    expect((await configCheck(inputs({}))).status).toBe("OK");
    const result = await configCheck(inputs({}, { configProblem: "config: logLevel: must be a string" }));
    expect(result).toMatchObject({ status: "FAIL", detail: "config: logLevel: must be a string" });
    expect(result.fix).toContain("/etc/berth/config.yaml");
  });
});

describe("cgroupV2Check", () => {
  it("passes on a pure cgroup v2 host", async () => {
    expect(await cgroupV2Check(inputs({ files: unifiedFiles }))).toMatchObject({ status: "OK" });
  });

  it("names the v1 controllers of a hybrid host and how to boot into v2", async () => {
    const result = await cgroupV2Check(inputs({ files: hybridFiles }));
    expect(result.status).toBe("FAIL");
    expect(result.detail).toContain("hybrid");
    expect(result.detail).toContain("cpu, cpuacct, cpuset, devices, memory, pids");
    expect(result.detail).not.toContain("name=systemd");
    expect(result.fix).toContain("systemd.unified_cgroup_hierarchy=1");
    expect(result.fix).toContain("cgroup_no_v1=all");
  });

  it("points at command-line words that force v1, and at the container's host", async () => {
    const result = await cgroupV2Check(
      inputs({
        files: {
          ...hybridFiles,
          "/proc/cmdline": "BOOT_IMAGE=/vmlinuz systemd.unified_cgroup_hierarchy=0 quiet",
        },
        stats: { "/.dockerenv": {} },
      }),
    );
    expect(result.fix).toContain("remove systemd.unified_cgroup_hierarchy=0");
    expect(result.fix).toContain("container");
  });

  it("fails on a legacy host and on unreadable /proc", async () => {
    const legacy = await cgroupV2Check(
      inputs({
        files: { "/proc/self/mountinfo": LEGACY_MOUNTINFO, "/proc/self/cgroup": LEGACY_PROC_CGROUP },
      }),
    );
    expect(legacy).toMatchObject({ status: "FAIL" });
    expect(legacy.detail).toContain("legacy");
    expect((await cgroupV2Check(inputs({}))).status).toBe("FAIL");
  });
});

describe("controllersCheck", () => {
  it("passes when the root offers cpu, memory, pids and io and the unit has them delegated", async () => {
    const result = await controllersCheck(
      inputs({
        files: {
          ...unifiedFiles,
          "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
          "/sys/fs/cgroup/system.slice/berth.service/cgroup.controllers": "cpu io memory pids\n",
        },
      }),
    );
    expect(result).toMatchObject({ status: "OK" });
    expect(result.detail).toContain("delegated to /sys/fs/cgroup/system.slice/berth.service");
  });

  it("fails when the unit's cgroup lacks controllers (no Delegate=yes)", async () => {
    const result = await controllersCheck(
      inputs({
        files: {
          ...unifiedFiles,
          "/sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n",
          "/sys/fs/cgroup/system.slice/berth.service/cgroup.controllers": "memory pids\n",
        },
      }),
    );
    expect(result).toMatchObject({
      status: "FAIL",
      detail: expect.stringContaining("cpu, io not delegated"),
    });
    expect(result.fix).toContain("Delegate=yes");
  });

  it("fails when the kernel lacks a controller", async () => {
    const result = await controllersCheck(
      inputs({
        files: {
          "/proc/self/mountinfo": UNIFIED_MOUNTINFO,
          "/proc/self/cgroup": "0::/\n",
          "/sys/fs/cgroup/cgroup.controllers": "cpu memory pids\n",
        },
      }),
    );
    expect(result).toMatchObject({ status: "FAIL", detail: expect.stringContaining("no io controller") });
  });

  it("fails on a hybrid host: the controllers are on v1", async () => {
    const result = await controllersCheck(inputs({ files: hybridFiles }));
    expect(result.status).toBe("FAIL");
    expect(result.detail).toContain("cgroup v1");
  });
});

describe("binary checks", () => {
  it("report the first line of --version", async () => {
    const host: FakeHost = {
      executables: ["/usr/sbin/runc", "/usr/bin/conmon"],
      commands: {
        "/usr/sbin/runc --version": { stdout: "runc version 1.1.5+ds1\ncommit: 1.1.5\nspec: 1.0.2-dev\n" },
        "/usr/bin/conmon --version": { stdout: "conmon version 2.1.6\ncommit: unknown\n" },
      },
    };
    expect(await runcCheck(inputs(host))).toMatchObject({
      status: "OK",
      detail: "runc version 1.1.5+ds1 (/usr/sbin/runc)",
    });
    expect(await conmonCheck(inputs(host))).toMatchObject({
      status: "OK",
      detail: "conmon version 2.1.6 (/usr/bin/conmon)",
    });
  });

  it("fail with the install command when missing or broken", async () => {
    const missing = await runcCheck(inputs({}));
    expect(missing).toMatchObject({ status: "FAIL", detail: "/usr/sbin/runc is missing" });
    expect(missing.fix).toContain("apt-get install runc");
    const broken = await conmonCheck(
      inputs({
        executables: ["/usr/bin/conmon"],
        commands: {
          "/usr/bin/conmon --version": { exitCode: 127, stderr: "error while loading shared libraries" },
        },
      }),
    );
    expect(broken).toMatchObject({ status: "FAIL", detail: expect.stringContaining("exit 127") });
  });
});

describe("cniCheck", () => {
  it("finds the default network's plugins across plugin dirs, with the bridge plugin's version", async () => {
    const result = await cniCheck(
      inputs({
        executables: ["/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/opt/cni/bin/portmap"],
        commands: {
          "/usr/lib/cni/bridge": {
            stdout: "CNI bridge plugin v1.4.0\nCNI protocol versions supported: 1.0.0\n",
          },
        },
      }),
    );
    expect(result).toMatchObject({ status: "OK" });
    expect(result.detail).toContain("/usr/lib/cni, /opt/cni/bin");
    expect(result.detail).toContain("version v1.4.0");
  });

  it("fails naming the missing plugins; passes when networking is off", async () => {
    const result = await cniCheck(inputs({ executables: ["/usr/lib/cni/bridge"] }));
    expect(result).toMatchObject({
      status: "FAIL",
      detail: expect.stringMatching(/^host-local, portmap not found/),
    });
    expect(result.fix).toContain("containernetworking-plugins");
    const off = { ...defaultConfig(), cni: { ...defaultConfig().cni, enabled: false } };
    expect((await cniCheck(inputs({}, { config: off }))).status).toBe("OK");
  });
});

describe("kernel feature checks", () => {
  it("overlayfs: OK when listed, WARN otherwise", async () => {
    const listed = { files: { "/proc/filesystems": "nodev\tproc\nnodev\toverlay\n\text4\n" } };
    expect((await overlayCheck(inputs(listed))).status).toBe("OK");
    const absent = { files: { "/proc/filesystems": "nodev\tproc\n\text4\n" } };
    expect(await overlayCheck(inputs(absent))).toMatchObject({
      status: "WARN",
      fix: expect.stringContaining("modprobe overlay"),
    });
  });

  it("PSI: WARN names the missing pressure files", async () => {
    const some = { files: { "/proc/pressure/cpu": "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" } };
    expect(await psiCheck(inputs(some))).toMatchObject({
      status: "WARN",
      detail: expect.stringContaining("memory, io"),
    });
    const all = {
      files: Object.fromEntries(
        ["cpu", "memory", "io"].map((r) => [`/proc/pressure/${r}`, "some avg10=0.00\n"]),
      ),
    };
    expect((await psiCheck(inputs(all))).status).toBe("OK");
  });

  it("user namespaces: WARN at 0", async () => {
    expect(
      (await userNamespacesCheck(inputs({ files: { "/proc/sys/user/max_user_namespaces": "96365\n" } })))
        .status,
    ).toBe("OK");
    expect(
      (await userNamespacesCheck(inputs({ files: { "/proc/sys/user/max_user_namespaces": "0\n" } }))).status,
    ).toBe("WARN");
  });

  it("swap: WARN when a swap device is on", async () => {
    const header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    expect((await swapCheck(inputs({ files: { "/proc/swaps": header } }))).status).toBe("OK");
    const on = await swapCheck(
      inputs({ files: { "/proc/swaps": `${header}/swapfile  file  2097148  0  -2\n` } }),
    );
    expect(on).toMatchObject({ status: "WARN", detail: expect.stringContaining("/swapfile") });
    expect(on.fix).toContain("swapoff -a");
  });
});

describe("systemdCheck", () => {
  it("WARNs without systemd as PID 1, and when berth.service is missing or down", async () => {
    expect((await systemdCheck(inputs({}))).status).toBe("WARN");
    const running = { stats: { "/run/systemd/system": {} } };
    expect(
      await systemdCheck(
        inputs({ ...running, commands: { "systemctl is-active berth.service": { stdout: "active\n" } } }),
      ),
    ).toMatchObject({ status: "OK" });
    const missing = await systemdCheck(
      inputs({
        ...running,
        commands: {
          "systemctl is-active berth.service": { exitCode: 4, stdout: "inactive\n" },
          "systemctl is-enabled berth.service": { exitCode: 1, stdout: "not-found\n" },
        },
      }),
    );
    expect(missing).toMatchObject({ status: "WARN", fix: "berth install" });
    const failed = await systemdCheck(
      inputs({
        ...running,
        commands: {
          "systemctl is-active berth.service": { exitCode: 3, stdout: "failed\n" },
          "systemctl is-enabled berth.service": { stdout: "enabled\n" },
        },
      }),
    );
    expect(failed).toMatchObject({ status: "WARN", detail: expect.stringContaining("failed") });
  });
});

describe("agent and socket checks", () => {
  it("agent: OK with the version, FAIL with the error when nobody answers", async () => {
    expect(await agentCheck(inputs({}))).toMatchObject({
      status: "OK",
      detail: "berth 0.1.0 (CRI v1) at /run/berth/berth.sock",
    });
    const down = await agentCheck(
      inputs(
        {},
        { agentVersion: async () => Promise.reject(new Error("14 UNAVAILABLE: No connection established")) },
      ),
    );
    expect(down).toMatchObject({ status: "FAIL", detail: expect.stringContaining("UNAVAILABLE") });
  });

  it("socket: root-only 0600 passes; group or other access, or another owner, fails", async () => {
    const socket = "/run/berth/berth.sock";
    expect(
      (await socketPermissionsCheck(inputs({ stats: { [socket]: { isSocket: true, mode: 0o600 } } }))).status,
    ).toBe("OK");
    const open = await socketPermissionsCheck(
      inputs({ stats: { [socket]: { isSocket: true, mode: 0o666 } } }),
    );
    expect(open).toMatchObject({ status: "FAIL", detail: expect.stringContaining("mode 0666") });
    expect(open.fix).toContain("chmod 600");
    const owned = await socketPermissionsCheck(
      inputs({ stats: { [socket]: { isSocket: true, mode: 0o600, uid: 1000 } } }),
    );
    expect(owned.status).toBe("FAIL");
    expect((await socketPermissionsCheck(inputs({ stats: { [socket]: { isSocket: false } } }))).status).toBe(
      "FAIL",
    );
    expect((await socketPermissionsCheck(inputs({}))).status).toBe("WARN");
  });
});

describe("clockCheck", () => {
  const command = "timedatectl show -p NTPSynchronized --value";
  it("OK when NTP-synchronized, WARN when not or when it cannot tell", async () => {
    expect((await clockCheck(inputs({ commands: { [command]: { stdout: "yes\n" } } }))).status).toBe("OK");
    expect(await clockCheck(inputs({ commands: { [command]: { stdout: "no\n" } } }))).toMatchObject({
      status: "WARN",
      fix: expect.stringContaining("timedatectl set-ntp true"),
    });
    const noSystemd = await clockCheck(
      inputs({
        commands: {
          [command]: {
            exitCode: 1,
            stderr: "System has not been booted with systemd as init system (PID 1). Can't operate.",
          },
        },
      }),
    );
    expect(noSystemd).toMatchObject({
      status: "WARN",
      detail: expect.stringContaining("not been booted with systemd"),
    });
    expect((await clockCheck(inputs({}))).status).toBe("WARN");
  });
});
