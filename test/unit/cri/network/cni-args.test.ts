import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  declaredCapabilities,
  formatCniArgs,
  pluginStdin,
  podCapabilityArgs,
  podCniArgs,
  runtimeConfigFor,
  toCniPortMappings,
} from "../../../../cri/network/cni-args.js";

const pod = { sandboxId: "abc123", podName: "web-0", podNamespace: "shop", podUid: "u-1" };

describe("CNI_ARGS", () => {
  it("puts IgnoreUnknown first and the K8S_POD_* keys after it", () => {
    expect(formatCniArgs(podCniArgs(pod))).toBe(
      "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123;K8S_POD_UID=u-1",
    );
  });

  it("rejects values that would split into other keys", () => {
    expect(() => podCniArgs({ ...pod, podName: "a;K8S_POD_UID=x" })).toThrow(InvalidArgumentError);
    expect(() => podCniArgs({ ...pod, podUid: "a=b" })).toThrow(/podUid/);
  });
});

describe("port mappings", () => {
  it("lowercases protocols, keeps hostIP and drops mappings without a host port", () => {
    expect(
      toCniPortMappings([
        { protocol: "TCP", containerPort: 80, hostPort: 8080, hostIp: "" },
        { protocol: "UDP", containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" },
        { protocol: "SCTP", containerPort: 9, hostPort: 0, hostIp: "" },
      ]),
    ).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" },
      { hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "127.0.0.1" },
    ]);
  });

  it("names the field of a bad mapping", () => {
    expect(() => toCniPortMappings([{ protocol: "TCP", containerPort: 0, hostPort: 1, hostIp: "" }])).toThrow(
      /portMappings\[0\]\.containerPort/,
    );
    expect(() =>
      toCniPortMappings([{ protocol: "TCP", containerPort: 1, hostPort: 70000, hostIp: "" }]),
    ).toThrow(/portMappings\[0\]\.hostPort/);
    expect(() =>
      toCniPortMappings([{ protocol: "TCP", containerPort: 1, hostPort: 2, hostIp: "not-an-ip" }]),
    ).toThrow(/hostIp/);
    expect(() =>
      toCniPortMappings([{ protocol: "ICMP" as "TCP", containerPort: 1, hostPort: 2, hostIp: "" }]),
    ).toThrow(/protocol/);
  });

  it("offers the portMappings capability only when there is a mapping", () => {
    expect(podCapabilityArgs([])).toEqual({});
    const mapping = { hostPort: 1, containerPort: 2, protocol: "tcp" as const, hostIP: "" };
    expect(podCapabilityArgs([mapping])).toEqual({ portMappings: [mapping] });
  });

  it("offers the node's pod CIDRs as the ipRanges capability, one range set each", () => {
    expect(podCapabilityArgs([], ["10.244.1.0/24", "fd00:1::/64"])).toEqual({
      ipRanges: [[{ subnet: "10.244.1.0/24" }], [{ subnet: "fd00:1::/64" }]],
    });
    const bridge = { type: "bridge", capabilities: { ipRanges: true } };
    expect(runtimeConfigFor(bridge, podCapabilityArgs([], ["10.244.1.0/24"]))).toEqual({
      ipRanges: [[{ subnet: "10.244.1.0/24" }]],
    });
    expect(runtimeConfigFor({ type: "bridge" }, podCapabilityArgs([], ["10.244.1.0/24"]))).toBeUndefined();
  });
});

describe("runtimeConfig", () => {
  const mappings = [{ hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "" }];

  it("passes only the capabilities a plugin declares as true", () => {
    const portmap = { type: "portmap", capabilities: { portMappings: true, bandwidth: false } };
    expect(declaredCapabilities(portmap)).toEqual(["portMappings"]);
    expect(runtimeConfigFor(portmap, { portMappings: mappings, bandwidth: {} })).toEqual({
      portMappings: mappings,
    });
    expect(runtimeConfigFor({ type: "bridge" }, { portMappings: mappings })).toBeUndefined();
    expect(runtimeConfigFor({ type: "portmap", capabilities: { portMappings: true } }, {})).toBeUndefined();
  });
});

describe("the execution config on stdin", () => {
  it("takes name and cniVersion from the list, drops capabilities and adds runtimeConfig and prevResult", () => {
    const plugin = {
      type: "portmap",
      name: "ignored",
      cniVersion: "0.3.1",
      capabilities: { portMappings: true },
      snat: true,
    };
    const prevResult = { cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] };
    const portMappings = [{ hostPort: 1, containerPort: 2, protocol: "tcp", hostIP: "" }];
    expect(
      pluginStdin(plugin, {
        networkName: "net",
        cniVersion: "1.0.0",
        prevResult,
        capabilityArgs: { portMappings },
      }),
    ).toEqual({
      type: "portmap",
      name: "net",
      cniVersion: "1.0.0",
      snat: true,
      runtimeConfig: { portMappings },
      prevResult,
    });
    // The file's own entry is not changed.
    expect(plugin.capabilities).toEqual({ portMappings: true });
  });

  it("omits prevResult and runtimeConfig when there are none, keeping a static runtimeConfig", () => {
    expect(
      pluginStdin(
        { type: "bridge", bridge: "b0" },
        { networkName: "n", cniVersion: "1.0.0", capabilityArgs: {} },
      ),
    ).toEqual({
      type: "bridge",
      bridge: "b0",
      name: "n",
      cniVersion: "1.0.0",
    });
    const withStatic = { type: "x", runtimeConfig: { mac: "aa" } };
    expect(
      pluginStdin(withStatic, { networkName: "n", cniVersion: "1.0.0", capabilityArgs: {} }).runtimeConfig,
    ).toEqual({ mac: "aa" });
  });
});
