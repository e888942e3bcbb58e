import { describe, expect, it } from "vitest";
import { checkPathLength } from "../../../common/path-limits.js";
import { InvalidArgumentError } from "../../../common/errors.js";
import { resolveCgroupParent } from "../../../cgroups/paths.js";
import { checkLogPath, validateContainerConfig } from "../../../cri/runtime/validate-config.js";
import { ContainerConfig } from "../../../cri/api/generated/api.js";

describe("path length limits", () => {
  it("accepts names up to 255 bytes and paths under 4096 bytes", () => {
    expect(() => checkPathLength(`/a/${"x".repeat(255)}`, "f")).not.toThrow();
    expect(() => checkPathLength(`${"x/".repeat(2047)}`, "f")).not.toThrow();
  });

  it("refuses a longer name or path, naming the field and echoing the path capped", () => {
    const long = "x".repeat(300);
    expect(() => checkPathLength(`a/${long}`, "config.log_path")).toThrow(InvalidArgumentError);
    expect(() => checkPathLength(`a/${long}`, "config.log_path")).toThrow(/^config\.log_path: .*255 bytes/);
    expect(() => checkPathLength("x/".repeat(2100), "f")).toThrow(/4095 bytes/);
    // Multi-byte characters count as the kernel counts them: in bytes.
    expect(() => checkPathLength("é".repeat(128), "f")).toThrow(InvalidArgumentError);
  });

  it("guards log paths, cgroup parents and the executable a config names", () => {
    expect(() => checkLogPath(`c/${"x".repeat(300)}.log`, "config.log_path")).toThrow(/config\.log_path/);
    expect(() => resolveCgroupParent("x".repeat(5000), "berth", "config.linux.cgroup_parent")).toThrow(
      /config\.linux\.cgroup_parent/,
    );
    const config = ContainerConfig.fromPartial({
      metadata: { name: "c" },
      image: { image: "busybox" },
      command: ["x".repeat(100_000)],
    });
    expect(() => validateContainerConfig(config)).toThrow(/^config\.command\[0\]: /);
    const fine = ContainerConfig.fromPartial({
      metadata: { name: "c" },
      image: { image: "busybox" },
      command: ["sh"],
      args: ["x".repeat(100_000)],
    });
    expect(() => validateContainerConfig(fine)).not.toThrow();
  });
});
