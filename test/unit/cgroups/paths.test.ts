import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../common/errors.js";
import { detectLayout } from "../../../cgroups/detect.js";
import { distinctDirs, resolveCgroupDirs } from "../../../cgroups/paths.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  LEGACY_MOUNTINFO,
  LEGACY_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
} from "./fixtures.js";

const hybrid = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });
const unified = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
const legacy = detectLayout({ mountinfo: LEGACY_MOUNTINFO, procCgroup: LEGACY_PROC_CGROUP });

describe("resolveCgroupDirs", () => {
  it("puts unified paths under the root whether or not they start with /", () => {
    expect(resolveCgroupDirs(unified, "berth/pods/x", "/r")).toEqual({ unified: "/r/berth/pods/x", v1: {} });
    expect(resolveCgroupDirs(unified, "/berth/pods/x", "/r")).toEqual({ unified: "/r/berth/pods/x", v1: {} });
  });

  it("nests a relative path under the process's own cgroup of each v1 controller", () => {
    const dirs = resolveCgroupDirs(hybrid, "berth-test/c1", "/r");
    expect(dirs.v1).toEqual({
      cpu: "/r/cpu/berth-test/c1",
      cpuacct: "/r/cpuacct/berth-test/c1",
      cpuset: "/r/cpuset/berth-test/c1",
      memory: "/r/memory/process_api/d9dc5d6c/berth-test/c1",
      devices: "/r/devices/berth-test/c1",
      pids: "/r/pids/berth-test/c1",
    });
    // The cgroup2 companion nests under the process's "0::" path.
    expect(dirs.unified).toBe("/r/unified/system.slice/berth.service/berth-test/c1");
  });

  it("puts an absolute v1 path under each controller's root", () => {
    const dirs = resolveCgroupDirs(hybrid, "/berth/c1", "/r");
    expect(dirs.v1["memory"]).toBe("/r/memory/berth/c1");
    expect(dirs.unified).toBe("/r/unified/berth/c1");
  });

  it("gives co-mounted controllers one directory and leaves named hierarchies alone", () => {
    const dirs = resolveCgroupDirs(legacy, "x", "/r");
    expect(dirs.v1["cpu"]).toBe("/r/cpu,cpuacct/system.slice/berth.service/x");
    expect(dirs.v1["cpuacct"]).toBe(dirs.v1["cpu"]);
    expect(dirs.v1["name=systemd"]).toBeUndefined();
    expect(dirs.unified).toBeUndefined();
    expect(distinctDirs(dirs)).toEqual([
      "/r/cpu,cpuacct/system.slice/berth.service/x",
      "/r/cpuset/x",
      "/r/memory/system.slice/berth.service/x",
      "/r/pids/system.slice/berth.service/x",
    ]);
  });

  it("refuses paths that climb out with ..", () => {
    expect(() => resolveCgroupDirs(unified, "berth/../../etc", "/r")).toThrow(InvalidArgumentError);
  });
});
