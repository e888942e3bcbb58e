import { describe, expect, it } from "vitest";
import {
  kernelVersion,
  recursiveReadOnlySupport,
  runcMountOptions,
} from "../../../../cri/runtime/runtime-features.js";

const features = (mountOptions: string[]): string => JSON.stringify({ ociVersionMin: "1.0.0", mountOptions });

describe("recursive read-only support", () => {
  it("needs runc's rro option and a kernel of 5.12 or later", () => {
    expect(recursiveReadOnlySupport(features(["ro", "rro"]), "6.1.0-18-amd64")).toEqual({
      supported: true,
      reason: "",
    });
    expect(recursiveReadOnlySupport(features(["ro", "rro"]), "5.12.0")).toMatchObject({ supported: true });
    expect(recursiveReadOnlySupport(features(["ro", "rro"]), "5.11.22").reason).toMatch(
      /kernel 5.11.22 has no mount_setattr/,
    );
    expect(recursiveReadOnlySupport(features(["ro", "rro"]), "4.19.0").supported).toBe(false);
    expect(recursiveReadOnlySupport(features(["ro", "rbind"]), "6.1.0").reason).toMatch(/"rro"/);
  });

  it("a runc that cannot report its features, or reports nonsense, does not support them", () => {
    const failed = recursiveReadOnlySupport(undefined, "6.1.0", "No help topic for 'features'");
    expect(failed.supported).toBe(false);
    expect(failed.reason).toContain("No help topic for 'features'");
    expect(recursiveReadOnlySupport("not json", "6.1.0").supported).toBe(false);
    expect(recursiveReadOnlySupport("{}", "6.1.0").supported).toBe(false);
    expect(recursiveReadOnlySupport("null", "6.1.0").supported).toBe(false);
  });

  it("parses kernel releases and mount option lists", () => {
    expect(kernelVersion("6.18.44-fc-v1272")).toEqual([6, 18]);
    expect(kernelVersion("weird")).toBeUndefined();
    expect(runcMountOptions(JSON.stringify({ mountOptions: ["rro", 3, "ro"] }))).toEqual(["rro", "ro"]);
  });
});
