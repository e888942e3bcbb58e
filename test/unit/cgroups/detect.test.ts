import { describe, expect, it } from "vitest";
import { FailedPreconditionError } from "../../../common/errors.js";
import { detectLayout, parseMountInfo, parseProcCgroup } from "../../../cgroups/detect.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  LEGACY_MOUNTINFO,
  LEGACY_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
} from "./fixtures.js";

describe("parseMountInfo", () => {
  it("splits fields around the optional-field separator", () => {
    const [entry] = parseMountInfo(
      "29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:14 master:2 - cgroup cgroup rw,cpu,cpuacct\n",
    );
    expect(entry).toEqual({
      mountId: 29,
      parentId: 25,
      root: "/",
      mountPoint: "/sys/fs/cgroup/cpu,cpuacct",
      fsType: "cgroup",
      source: "cgroup",
      superOptions: ["rw", "cpu", "cpuacct"],
    });
  });

  it("decodes octal escapes in paths", () => {
    const [entry] = parseMountInfo("40 31 0:37 /a\\040b /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");
    expect(entry?.root).toBe("/a b");
    expect(entry?.mountPoint).toBe("/mnt/with space");
  });
});

describe("parseProcCgroup", () => {
  it("reads v1 controller lists, named hierarchies and the v2 line", () => {
    const entries = parseProcCgroup("2:cpu,cpuacct:/a\n1:name=systemd:/b\n0::/c:with:colons\n");
    expect(entries).toEqual([
      { hierarchyId: 2, controllers: ["cpu", "cpuacct"], path: "/a" },
      { hierarchyId: 1, controllers: ["name=systemd"], path: "/b" },
      { hierarchyId: 0, controllers: [], path: "/c:with:colons" },
    ]);
  });
});

describe("detectLayout", () => {
  it("sees a hybrid host: v1 controllers plus cgroup2 at <root>/unified", () => {
    const layout = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });
    expect(layout.mode).toBe("hybrid");
    expect(layout.unifiedDir).toBe("unified");
    expect(layout.v1Mounts).toEqual({
      cpu: "cpu",
      cpuacct: "cpuacct",
      cpuset: "cpuset",
      memory: "memory",
      devices: "devices",
      pids: "pids",
      "name=systemd": "systemd",
    });
    expect(layout.ownV1["memory"]).toBe("/process_api/d9dc5d6c");
    expect(layout.ownV1["cpuacct"]).toBe("/");
    expect(layout.ownV1["name=systemd"]).toBe("/system.slice/berth.service");
    expect(layout.ownV2).toBe("/system.slice/berth.service");
  });

  it("sees a unified host and ignores v1 details", () => {
    const layout = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
    expect(layout).toEqual({
      mode: "unified",
      unifiedDir: "",
      v1Mounts: {},
      ownV1: {},
      ownV2: "/system.slice/berth.service",
    });
  });

  it("sees a legacy host with co-mounted cpu,cpuacct", () => {
    const layout = detectLayout({ mountinfo: LEGACY_MOUNTINFO, procCgroup: LEGACY_PROC_CGROUP });
    expect(layout.mode).toBe("legacy");
    expect(layout.unifiedDir).toBeUndefined();
    expect(layout.v1Mounts["cpu"]).toBe("cpu,cpuacct");
    expect(layout.v1Mounts["cpuacct"]).toBe("cpu,cpuacct");
    expect(layout.ownV1["cpuacct"]).toBe("/system.slice/berth.service");
    expect(layout.ownV1["cpuset"]).toBe("/");
  });

  it("strips the mount's root from own paths when the hierarchy is mounted from a sub-cgroup", () => {
    const mountinfo = "50 40 0:30 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    const layout = detectLayout({ mountinfo, procCgroup: "4:memory:/docker/abc/inner\n" });
    expect(layout.ownV1["memory"]).toBe("/inner");
    const atRoot = detectLayout({ mountinfo, procCgroup: "4:memory:/docker/abc\n" });
    expect(atRoot.ownV1["memory"]).toBe("/");
  });

  it("looks for mounts under the root it is given", () => {
    const mountinfo = "41 31 0:38 / /tmp/fake/cg rw - cgroup2 cgroup2 rw\n" + UNIFIED_MOUNTINFO;
    expect(detectLayout({ mountinfo, procCgroup: "0::/\n", root: "/tmp/fake/cg" }).mode).toBe("unified");
    // The host's own cgroup2 at /sys/fs/cgroup is not under /tmp/other.
    expect(() => detectLayout({ mountinfo, procCgroup: "0::/\n", root: "/tmp/other" })).toThrow(
      FailedPreconditionError,
    );
  });

  it("fails when nothing is mounted", () => {
    expect(() => detectLayout({ mountinfo: "", procCgroup: "" })).toThrow(/no cgroup filesystem/);
  });
});
