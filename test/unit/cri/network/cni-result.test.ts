import { describe, expect, it } from "vitest";
import { podIpsFromResult } from "../../../../cri/network/cni-result.js";

describe("podIpsFromResult", () => {
  it("reads 1.0.0 results, keeping only addresses on interfaces inside the sandbox", () => {
    const result = {
      cniVersion: "1.0.0",
      interfaces: [{ name: "br0" }, { name: "veth1" }, { name: "eth0", sandbox: "/run/netns/x" }],
      ips: [
        { address: "10.1.0.1/24", interface: 0 },
        { address: "10.1.0.7/24", gateway: "10.1.0.1", interface: 2 },
        { address: "fd00::7/64", interface: 2 },
      ],
    };
    expect(podIpsFromResult(result)).toEqual(["10.1.0.7", "fd00::7"]);
  });

  it("keeps addresses that name no interface", () => {
    expect(podIpsFromResult({ ips: [{ version: "4", address: "10.2.0.3/16" }] })).toEqual(["10.2.0.3"]);
  });

  it("reads 0.2.0 results", () => {
    expect(
      podIpsFromResult({ cniVersion: "0.2.0", ip4: { ip: "10.3.0.4/24" }, ip6: { ip: "fd01::4/64" } }),
    ).toEqual(["10.3.0.4", "fd01::4"]);
  });

  it("returns nothing for what is not a result", () => {
    expect(podIpsFromResult(undefined)).toEqual([]);
    expect(podIpsFromResult({ ips: "no" })).toEqual([]);
  });
});
