// The pure checks that keep hostile paths, cgroup parents, cpusets and runc's create-time
// failures from reaching the host or coming back as INTERNAL.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { resolveCgroupParent } from "../../../../cgroups/paths.js";
import { explainCreateFailure } from "../../../../cri/runtime/create-failure.js";
import { missingFromCpuList } from "../../../../cri/runtime/host-limits.js";
import { checkLogDirectoryPath } from "../../../../cri/runtime/log-directory.js";
import { checkLogPath, validateContainerConfig } from "../../../../cri/runtime/validate-config.js";
import { parseReference } from "../../../../cri/images/reference.js";
import { ContainerConfig, Mount } from "../../../../cri/api/generated/api.js";
import { RuntimeFailureError } from "../../../../common/errors.js";

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as InvalidArgumentError).field;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("checkLogPath", () => {
  it.each(["0.log", "c/0.log", "./c/0.log", "c/./0.log", "a/b/c.log"])("accepts %s", (path) => {
    expect(() => checkLogPath(path, "config.log_path")).not.toThrow();
  });
  it.each([".", "./", "sub/", "sub/.", "..", "../x.log", "a/../../x", "a/../b", "/abs.log", "x\0y"])(
    "refuses %j",
    (path) => {
      expect(fieldOf(() => checkLogPath(path, "config.log_path"))).toBe("config.log_path");
    },
  );
});

describe("checkLogDirectoryPath", () => {
  it.each(["/var/log/pods/ns_name_uid", "/tmp/x"])("accepts %s", (path) => {
    expect(() => checkLogDirectoryPath(path, "config.log_directory")).not.toThrow();
  });
  it.each([
    "/proc/self/fdinfo/x",
    "/proc",
    "/proc/1/x",
    "/sys/fs/x",
    "/dev/x",
    "/",
    "relative",
    "/a/../b",
    "/a/./b",
    "/a//b",
    "/a/",
  ])("refuses %s", (path) => {
    expect(fieldOf(() => checkLogDirectoryPath(path, "config.log_directory"))).toBe("config.log_directory");
  });
  it("does not mistake /procfoo for /proc", () => {
    expect(() => checkLogDirectoryPath("/procfoo/x", "f")).not.toThrow();
  });
});

describe("resolveCgroupParent", () => {
  const field = "config.linux.cgroup_parent";
  it("keeps absolute parents, cleaned", () => {
    expect(resolveCgroupParent("/kubepods/burstable/pod1", "/berth", field)).toBe("/kubepods/burstable/pod1");
    expect(resolveCgroupParent("/kubepods//pod1/", "/berth", field)).toBe("/kubepods/pod1");
  });
  it("nests relative parents under the root unless they are inside it already", () => {
    expect(resolveCgroupParent("pods/x", "/berth", field)).toBe("/berth/pods/x");
    expect(resolveCgroupParent("pods/x", "berth-it", field)).toBe("berth-it/pods/x");
    expect(resolveCgroupParent("berth-it/pods/x", "berth-it", field)).toBe("berth-it/pods/x");
    expect(resolveCgroupParent("berth/pods", "/berth", field)).toBe("/berth/pods");
  });
  it.each(["../../../x", "a/../../b", "/a/../b", "/", "x\0y"])("refuses %j naming the field", (parent) => {
    expect(fieldOf(() => resolveCgroupParent(parent, "/berth", field))).toBe(field);
  });
});

describe("missingFromCpuList", () => {
  it("finds requested CPUs that are not online", () => {
    expect(missingFromCpuList("0-1", "0-1\n")).toBeUndefined();
    expect(missingFromCpuList("0,1", "0-1")).toBeUndefined();
    expect(missingFromCpuList("1-3", "0-1,2-5")).toBeUndefined();
    expect(missingFromCpuList("0-4095", "0-1")).toEqual([0, 4095]);
    expect(missingFromCpuList("0,7", "0-3")).toEqual([7, 7]);
    expect(missingFromCpuList("", "0-3")).toBeUndefined();
  });
});

describe("mounts onto /proc", () => {
  const config = (containerPath: string) =>
    ContainerConfig.fromPartial({
      metadata: { name: "c" },
      image: { image: "busybox" },
      mounts: [Mount.fromPartial({ containerPath, hostPath: "/tmp" })],
    });
  it.each(["/proc", "/proc/", "/proc/sys", "/proc/1/root"])("refuses %s", (path) => {
    expect(fieldOf(() => validateContainerConfig(config(path)))).toBe("config.mounts[0].container_path");
  });
  it.each(["/proc/meminfo", "/proc/cpuinfo", "/process"])("accepts %s", (path) => {
    expect(() => validateContainerConfig(config(path))).not.toThrow();
  });
});

describe("explainCreateFailure", () => {
  const conmon = (msg: string) =>
    new RuntimeFailureError(`conmon for container c1: time="2026-01-01T00:00:00Z" level=error msg="${msg}"`);
  const ctx = {
    sysctls: { "net/ipv4/ip_forward": "lots", "net.ipv4.no_such": "1" },
    sysctlsField: "config.linux.sysctls",
    commandField: "config.command",
  };

  it("an unknown sysctl or a refused value names the sysctl as the request spelled it", () => {
    const unknown = explainCreateFailure(
      conmon(
        "runc create failed: unable to start container process: error during container init: open /proc/sys/net/ipv4/no_such: no such file or directory",
      ),
      ctx,
    ) as InvalidArgumentError;
    expect(unknown).toBeInstanceOf(InvalidArgumentError);
    expect(unknown.field).toBe('config.linux.sysctls["net.ipv4.no_such"]');
    expect(unknown.message).toMatch(/no such sysctl/);
    const value = explainCreateFailure(
      conmon(
        "runc create failed: unable to start container process: error during container init: write /proc/sys/net/ipv4/ip_forward: invalid argument",
      ),
      ctx,
    ) as InvalidArgumentError;
    expect(value.field).toBe('config.linux.sysctls["net/ipv4/ip_forward"]');
    expect(value.message).toMatch(/refused the value "lots"/);
  });

  it("a missing executable names the command", () => {
    const err = explainCreateFailure(
      conmon(
        'runc create failed: unable to start container process: exec: \\"/no/such\\": stat /no/such: no such file or directory',
      ),
      ctx,
    ) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toBe(
      'config.command: "/no/such" cannot be run in the container: executable file not found',
    );
    const inPath = explainCreateFailure(
      conmon(
        'runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH',
      ),
      ctx,
    ) as InvalidArgumentError;
    expect(inPath.message).toMatch(/"nope" cannot be run in the container: executable file not found/);
  });

  it("anything else passes through unchanged", () => {
    const other = conmon("runc create failed: something else");
    expect(explainCreateFailure(other, ctx)).toBe(other);
    const sysctlWithoutContext = conmon("open /proc/sys/net/x: no such file or directory");
    expect(explainCreateFailure(sysctlWithoutContext, {})).toBe(sysctlWithoutContext);
  });
});

describe("registry ports", () => {
  it.each(["localhost:99999/x:1", "localhost:0/x", "example.com:65536/a/b"])("refuses %s", (ref) => {
    expect(fieldOf(() => parseReference(ref, "image.image"))).toBe("image.image");
  });
  it("accepts 1-65535", () => {
    expect(parseReference("localhost:5000/x:1", "f").domain).toBe("localhost:5000");
    expect(parseReference("h.example:65535/x", "f").domain).toBe("h.example:65535");
  });
});
