import { describe, it, expect } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  familiarName,
  normalizeReference,
  normalizeReferenceString,
  parseReference,
} from "../../../../cri/images/reference.js";

const HEX = "a".repeat(64);

describe("normalizeReferenceString", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["index.docker.io/library/busybox:1", "docker.io/library/busybox:1"],
    ["someuser/app", "docker.io/someuser/app:latest"],
    ["someuser/team/app:v2", "docker.io/someuser/team/app:v2"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/a/b:tag", "localhost:5000/a/b:tag"],
    ["host:5000/a/b", "host:5000/a/b:latest"],
    ["registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"],
    ["Registry.Example/app", "Registry.Example/app:latest"],
    ["[::1]:5000/app:1", "[::1]:5000/app:1"],
    ["a-b/c__d/e--f.g_h:T_1.x-y", "docker.io/a-b/c__d/e--f.g_h:T_1.x-y"],
    ["a.b-c/d", "a.b-c/d:latest"],
    [`host:5000/a/b@sha256:${HEX}`, `host:5000/a/b@sha256:${HEX}`],
    // A digest pins the image, so a tag given with it is dropped, as containerd does.
    [`busybox:1.36@sha256:${HEX}`, `docker.io/library/busybox@sha256:${HEX}`],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeReferenceString(input, "image.image")).toBe(expected);
  });
});

describe("parseReference", () => {
  it("keeps both tag and digest when both are given", () => {
    expect(parseReference(`host:5000/a/b:v1@sha256:${HEX}`, "f")).toEqual({
      domain: "host:5000",
      path: "a/b",
      tag: "v1",
      digest: `sha256:${HEX}`,
    });
  });

  it("adds no default tag", () => {
    expect(parseReference("busybox", "f")).toEqual({ domain: "docker.io", path: "library/busybox" });
  });

  it("treats a port-looking suffix after the last slash as a tag", () => {
    expect(parseReference("host:5000/app:5001", "f")).toMatchObject({ domain: "host:5000", tag: "5001" });
  });
});

describe("invalid references", () => {
  it.each([
    ["", "empty"],
    [" busybox", "whitespace"],
    ["Busybox", "lowercase"],
    ["docker.io/Library/busybox", "lowercase"],
    ["busybox:", "tag"],
    ["busybox:-bad", "tag"],
    [`busybox:${"t".repeat(129)}`, "tag"],
    ["busybox@sha256:abc", "64 lowercase hex"],
    [`busybox@sha256:${"A".repeat(64)}`, "64 lowercase hex"],
    [`busybox@md5:${"a".repeat(32)}`, "not supported"],
    ["busybox@", "digest"],
    ["a//b", "component"],
    ["a/b/", "component"],
    ["-leading/app", "component"],
    ["app_", "component"],
    ["host:port/app", "not a valid host"],
    ["-host.com/app", "not a valid host"],
    ["a.b_c/app", "not a valid host"],
    [HEX, "image id"],
    [`${"a".repeat(250)}/bbbbbbb`, "longer than 255"],
    [":tag", "no repository"],
  ])("%j is rejected (%s)", (input, problem) => {
    let caught: unknown;
    try {
      parseReference(input, "image.image");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).field).toBe("image.image");
    expect((caught as Error).message).toContain(problem);
  });
});

describe("normalizeReference and familiarName", () => {
  it("round-trips Docker Hub names to their short form", () => {
    expect(familiarName(normalizeReference("busybox", "f"))).toBe("busybox:latest");
    expect(familiarName(normalizeReference("someuser/app:1", "f"))).toBe("someuser/app:1");
    expect(familiarName(normalizeReference("localhost:5000/app", "f"))).toBe("localhost:5000/app:latest");
  });
});
