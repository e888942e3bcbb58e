import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { PodCidrConfig, parsePodCidrs } from "../../../../cri/runtime/pod-cidr.js";

describe("pod CIDRs", () => {
  it("accepts one CIDR or a dual-stack pair", () => {
    expect(parsePodCidrs("10.244.1.0/24")).toEqual(["10.244.1.0/24"]);
    expect(parsePodCidrs("10.244.1.0/24, fd00:1::/64")).toEqual(["10.244.1.0/24", "fd00:1::/64"]);
  });

  it.each([
    "10.0.0.0",
    "10.0.0.0/33",
    "10.0.0.0/0",
    "fd00::/129",
    "host/24",
    "10.0.0.0/24/1",
    "10.0.0.0/x",
    ",",
  ])("refuses %j naming the field", (text) => {
    const err = (() => {
      try {
        parsePodCidrs(text);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe("runtime_config.network_config.pod_cidr");
  });
});

describe("PodCidrConfig", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-pod-cidr-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hands the network each new CIDR, keeps it on disk, and takes it up again", async () => {
    const seen: string[][] = [];
    const network = { usePodCidrs: async (c: readonly string[]) => void seen.push([...c]) };
    const config = new PodCidrConfig(dir, network as never);
    await config.update("");
    expect(config.current).toEqual([]);
    await config.update("10.244.1.0/24");
    await config.update("10.244.1.0/24");
    expect(seen).toEqual([["10.244.1.0/24"]]);

    const again = new PodCidrConfig(dir, network as never);
    await again.load(silentLogger());
    expect(again.current).toEqual(["10.244.1.0/24"]);
    expect(seen).toHaveLength(2);
  });

  it("a network that refuses the CIDR leaves the old one in force and on disk", async () => {
    const config = new PodCidrConfig(dir, {
      usePodCidrs: async () => {
        throw new InvalidArgumentError("subnet", "no");
      },
    } as never);
    await expect(config.update("10.244.1.0/24")).rejects.toThrow(/subnet/);
    expect(config.current).toEqual([]);
    await expect(readFile(join(dir, "pod-cidr.json"))).rejects.toThrow();
  });

  it("ignores a damaged state file", async () => {
    await writeFile(join(dir, "pod-cidr.json"), JSON.stringify({ podCidrs: ["bogus"] }));
    const config = new PodCidrConfig(dir, undefined);
    await config.load(silentLogger());
    expect(config.current).toEqual([]);
  });
});
