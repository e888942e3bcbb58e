import { describe, it, expect } from "vitest";
import { imageUser, runtimeConfigOf } from "../../../../cri/images/image-record.js";

describe("imageUser", () => {
  it.each([
    ["", {}],
    ["0", { uid: 0 }],
    ["1000:1000", { uid: 1000 }],
    ["nobody", { username: "nobody" }],
    ["berth:extra", { username: "berth" }],
    ["1000x", { username: "1000x" }],
  ])("%j -> %j", (user, expected) => {
    expect(imageUser(user)).toEqual(expected);
  });
});

describe("runtimeConfigOf", () => {
  it("reads the fields berth runs with", () => {
    expect(
      runtimeConfigOf({
        config: {
          Env: ["A=1"],
          Entrypoint: ["/bin/sh"],
          Cmd: ["-c", "true"],
          WorkingDir: "/w",
          User: "1:2",
          StopSignal: "SIGQUIT",
          Labels: { a: "b" },
          ExposedPorts: { "80/tcp": {}, "53/udp": {} },
          Volumes: { "/data": {} },
        },
      }),
    ).toEqual({
      env: ["A=1"],
      entrypoint: ["/bin/sh"],
      cmd: ["-c", "true"],
      workingDir: "/w",
      user: "1:2",
      stopSignal: "SIGQUIT",
      labels: { a: "b" },
      exposedPorts: ["80/tcp", "53/udp"],
      volumes: ["/data"],
    });
  });

  it("tolerates absent, null and mistyped fields", () => {
    const empty = {
      env: [],
      entrypoint: [],
      cmd: [],
      workingDir: "",
      user: "",
      stopSignal: "",
      labels: {},
      exposedPorts: [],
      volumes: [],
    };
    expect(runtimeConfigOf({})).toEqual(empty);
    expect(runtimeConfigOf({ config: null })).toEqual(empty);
    expect(
      runtimeConfigOf({ config: { Env: "A=1", Cmd: null, Labels: ["x"], Volumes: null, User: 5 } }),
    ).toEqual(empty);
  });
});
