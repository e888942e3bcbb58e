// Requests that once crashed, froze or stalled the whole runtime: each must fail alone with a
// status naming the field, leave nothing behind, and leave the runtime answering.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdir, readdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  LinuxContainerConfig,
  LinuxPodSandboxConfig,
  Mount,
  ImageSpec,
  PodSandboxConfig,
  PullImageRequest,
  SecurityProfile_ProfileType,
} from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError } from "../../../../harness/cri-fixtures.js";
import { CgroupManager } from "../../../../cgroups/manager.js";
import { detectHostLayout } from "../../../../cgroups/detect.js";
import { distinctDirs } from "../../../../cgroups/paths.js";

describe("hostile requests fail alone and leave the runtime answering", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let logs: string;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    logs = join(h.root, "logs");
    config = sandboxConfig("hostile", { logDirectory: logs });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  /** The runtime still answers, and the failed call left no sandbox, container or netns. */
  async function stillServingWithNothingLeft(): Promise<void> {
    expect((await h.cri.runtime.version({ version: "" })).runtimeName).toBe("berth");
    expect((await h.cri.runtime.listPodSandbox({})).items.map((s) => s.id)).toEqual([podSandboxId]);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
    expect(await readdir(join(h.options.runDir, "netns"))).toHaveLength(1);
    expect(await readdir(join(h.options.stateDir, "containers"))).toEqual([]);
  }

  async function refusedSandbox(
    overrides: Partial<PodSandboxConfig>,
  ): Promise<{ code: number; details: string }> {
    return grpcError(
      h.cri.runtime.runPodSandbox({ config: sandboxConfig("bad", overrides), runtimeHandler: "" }),
    );
  }

  async function refusedContainer(
    extra: Parameters<typeof containerConfig>[3],
    command = ["true"],
  ): Promise<{ code: number; details: string }> {
    return grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("c", image, command, extra),
        sandboxConfig: config,
      }),
    );
  }

  it("a log_path naming the log directory or leaving it is INVALID_ARGUMENT naming config.log_path", async () => {
    await mkdir(join(logs, "sub"), { recursive: true });
    for (const logPath of [".", "sub/", "./", "sub/..", "../x.log", "sub/../../x.log", "sub"]) {
      const err = await refusedContainer({ logPath });
      expect(err.code, logPath).toBe(status.INVALID_ARGUMENT);
      expect(err.details, logPath).toMatch(/config\.log_path/);
    }
    await stillServingWithNothingLeft();
  });

  it("a log_directory under /proc, /sys or /dev, on a pseudo filesystem, or a file is INVALID_ARGUMENT", async () => {
    await writeFile(join(h.root, "a-file"), "x");
    await symlink("/proc/self/fdinfo", join(h.root, "to-proc"));
    for (const logDirectory of [
      "/proc/self/fdinfo/x",
      "/proc/1/x",
      "/sys/x",
      "/dev/x",
      "relative/logs",
      "/var/log/../log/pods",
      "/var/log/pods/",
      join(h.root, "to-proc", "x"),
      join(h.root, "a-file"),
      join(h.root, "a-file", "below"),
    ]) {
      const err = await refusedSandbox({ logDirectory });
      expect(err.code, logDirectory).toBe(status.INVALID_ARGUMENT);
      expect(err.details, logDirectory).toMatch(/config\.log_directory/);
    }
    await stillServingWithNothingLeft();
  });

  it("a seccomp profile that is a FIFO, a device or too large is INVALID_ARGUMENT before anything is made", async () => {
    const fifo = join(h.root, "profile.fifo");
    await execa("mkfifo", [fifo]);
    const huge = join(h.root, "huge.json");
    await writeFile(huge, Buffer.alloc(2 * 1024 * 1024, 0x20));
    const field = /security_context\.seccomp\.localhost_ref/;
    for (const [path, problem] of [
      [fifo, /not a regular file/],
      ["/dev/zero", /not a regular file/],
      [huge, /larger than/],
    ] as const) {
      const seccomp = { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: path };
      const sandbox = await refusedSandbox({
        linux: LinuxPodSandboxConfig.fromPartial({ securityContext: { seccomp } }),
      });
      expect(sandbox.code, path).toBe(status.INVALID_ARGUMENT);
      expect(sandbox.details, path).toMatch(field);
      expect(sandbox.details, path).toMatch(problem);
      const container = await refusedContainer({
        linux: LinuxContainerConfig.fromPartial({ securityContext: { seccomp } }),
      });
      expect(container.code, path).toBe(status.INVALID_ARGUMENT);
      expect(container.details, path).toMatch(field);
      await stillServingWithNothingLeft();
    }
  });

  it("a seccomp error never shows the file's contents", async () => {
    const secret = join(h.root, "secret");
    await writeFile(secret, "root:$6$very-secret-hash:19000:0:99999:7:::\n");
    const err = await refusedContainer({
      linux: LinuxContainerConfig.fromPartial({
        securityContext: {
          seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: secret },
        },
      }),
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/not valid JSON/);
    expect(err.details).not.toContain("root:");
    expect(err.details).not.toContain("secret-hash");
  });

  it("a cgroup_parent with '..' is INVALID_ARGUMENT; a relative one nests under the cgroup root and is removable", async () => {
    for (const cgroupParent of ["../../../x", "a/../../b", "/a/../b"]) {
      const err = await refusedSandbox({ linux: LinuxPodSandboxConfig.fromPartial({ cgroupParent }) });
      expect(err.code, cgroupParent).toBe(status.INVALID_ARGUMENT);
      expect(err.details, cgroupParent).toMatch(/config\.linux\.cgroup_parent/);
    }
    await stillServingWithNothingLeft();

    const nested = sandboxConfig("nested", {
      linux: LinuxPodSandboxConfig.fromPartial({ cgroupParent: "custom-pods" }),
    });
    const { podSandboxId: id } = await h.cri.runtime.runPodSandbox({ config: nested, runtimeHandler: "" });
    const cgroups = new CgroupManager({ layout: await detectHostLayout() });
    const dirs = distinctDirs(cgroups.resolveCgroupDirs(`${h.cgroupRoot}/custom-pods/${id}`));
    expect(dirs.length).toBeGreaterThan(0);
    for (const dir of dirs) expect((await stat(dir)).isDirectory(), dir).toBe(true);
    await h.cri.runtime.removePodSandbox({ podSandboxId: id });
    expect((await h.cri.runtime.listPodSandbox({})).items.map((s) => s.id)).toEqual([podSandboxId]);
    for (const dir of dirs) await expect(stat(dir), dir).rejects.toThrow(/ENOENT/);
  });

  it("huge ids and image references are echoed capped", async () => {
    const hugeId = "x".repeat(100_000);
    const notFound = await grpcError(h.cri.runtime.containerStatus({ containerId: hugeId, verbose: false }));
    expect(notFound.code).toBe(status.NOT_FOUND);
    expect(notFound.details.length).toBeLessThan(1000);
    expect(notFound.details).toMatch(/100000 characters/);
    const hugeRef = `example.com/${"a".repeat(100_000)}:1`;
    const pull = await grpcError(
      h.cri.images.pullImage(PullImageRequest.fromPartial({ image: { image: hugeRef } })),
    );
    expect(pull.code).toBe(status.INVALID_ARGUMENT);
    expect(pull.details.length).toBeLessThan(1000);
    const noImage = await refusedContainer({ image: ImageSpec.fromPartial({ image: hugeRef }) });
    expect(noImage.details.length).toBeLessThan(1000);
    await stillServingWithNothingLeft();
  });

  it("caller faults are INVALID_ARGUMENT or FAILED_PRECONDITION naming the field, not INTERNAL", async () => {
    const cases: [string, () => Promise<{ code: number; details: string }>, number[], RegExp][] = [
      [
        "unknown sysctl",
        () =>
          refusedSandbox({
            linux: LinuxPodSandboxConfig.fromPartial({ sysctls: { "net.ipv4.no_such_sysctl": "1" } }),
          }),
        [status.INVALID_ARGUMENT],
        /sysctls\["net\.ipv4\.no_such_sysctl"\]/,
      ],
      [
        "bad sysctl value",
        () =>
          refusedSandbox({
            linux: LinuxPodSandboxConfig.fromPartial({ sysctls: { "net.ipv4.ip_forward": "lots" } }),
          }),
        [status.INVALID_ARGUMENT],
        /sysctls\["net\.ipv4\.ip_forward"\]/,
      ],
      [
        "cpuset the host lacks",
        () =>
          refusedContainer({
            linux: LinuxContainerConfig.fromPartial({ resources: { cpusetCpus: "0-4095" } }),
          }),
        [status.INVALID_ARGUMENT],
        /cpuset_cpus/,
      ],
      [
        "mount onto /proc",
        () => refusedContainer({ mounts: [Mount.fromPartial({ containerPath: "/proc", hostPath: h.root })] }),
        [status.INVALID_ARGUMENT],
        /mounts\[0\]\.container_path/,
      ],
      [
        "missing executable",
        () => refusedContainer({}, ["/no/such/binary"]),
        [status.INVALID_ARGUMENT, status.FAILED_PRECONDITION],
        /config\.command.*\/no\/such\/binary/,
      ],
      [
        "invalid registry port",
        () =>
          grpcError(
            h.cri.images.pullImage(PullImageRequest.fromPartial({ image: { image: "localhost:99999/x:1" } })),
          ),
        [status.INVALID_ARGUMENT],
        /port/,
      ],
    ];
    const layout = await detectHostLayout();
    if (layout.mode !== "unified") {
      cases.push([
        "unified resources without cgroup v2",
        () =>
          refusedContainer({
            linux: LinuxContainerConfig.fromPartial({
              resources: { unified: { "memory.high": "100000000" } },
            }),
          }),
        [status.INVALID_ARGUMENT, status.FAILED_PRECONDITION],
        /linux\.resources\.unified/,
      ]);
    }
    const wrong: string[] = [];
    for (const [what, call, codes, field] of cases) {
      const err = await call();
      if (!codes.includes(err.code) || !field.test(err.details)) {
        wrong.push(`${what}: ${status[err.code]} ${err.details}`);
      }
    }
    expect(wrong).toEqual([]);
    await stillServingWithNothingLeft();
  });

  it("an ExecSync timeout too large for a timer is INVALID_ARGUMENT naming timeout", async () => {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("exec", image, ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const err = await grpcError(
      h.cri.runtime.execSync({ containerId, cmd: ["true"], timeout: 9_000_000_000_000n }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/timeout/);
    // A timeout within range still runs the command.
    const ok = await h.cri.runtime.execSync({ containerId, cmd: ["echo", "hi"], timeout: 2_000_000n });
    expect(ok.stdout.toString()).toBe("hi\n");
    await h.cri.runtime.removeContainer({ containerId });
    await stillServingWithNothingLeft();
  });
});
