// UpdateRuntimeConfig over berth's socket with the real CNI plugins: the pod CIDR the
// kubelet sends becomes the subnet of berth's default network, pods set up afterwards get
// addresses from it, Status shows it, and it survives an agent restart. A test-only
// bridge, no masquerading; nothing of it is left afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomInt } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { execa } from "execa";
import { CniManager } from "../../../../cri/network/cni-network.js";
import { DEFAULT_CONFIG_FILE } from "../../../../cri/network/cni-config.js";
import { silentLogger } from "../../../../common/logger.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { grpcError } from "../../../../harness/cri-fixtures.js";

const suffix = randomBytes(2).toString("hex");
const bridge = `bc${suffix}`;
const octet = randomInt(1, 255);
const initialPrefix = `10.253.${octet}.`;
const podCidrPrefix = `10.254.${octet}.`;
const networkName = `berth-cidr-${suffix}`;
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";

describe("UpdateRuntimeConfig: the node's pod CIDR", () => {
  let h: Harness;
  let netDir: string;
  let ipForwardBefore: string;

  beforeAll(async () => {
    ipForwardBefore = await readFile(IP_FORWARD, "utf8");
    netDir = await mkdtemp(join(tmpdir(), "bcidr-"));
    await mkdir(join(netDir, "conf"));
    const network = new CniManager({
      confDir: join(netDir, "conf"),
      pluginDirs: ["/usr/lib/cni", "/opt/cni/bin"],
      cacheDir: join(netDir, "cache"),
      logger: silentLogger(),
      writeDefault: {
        ipamDataDir: join(netDir, "ipam"),
        bridgeName: bridge,
        subnet: `${initialPrefix}0/24`,
        ipMasq: false,
        networkName,
      },
    });
    h = await startHarness({ network });
  });

  afterAll(async () => {
    try {
      await h?.cleanup();
      const links = (await execa("ip", ["-o", "link"])).stdout;
      expect(links).not.toContain(`master ${bridge}`);
      const reservations = await readdir(join(netDir, "ipam", networkName)).catch(() => []);
      expect(reservations.filter((f) => f.startsWith("10."))).toEqual([]);
    } finally {
      await execa("ip", ["link", "del", bridge], { reject: false });
      await execa("sh", ["-c", `echo ${ipForwardBefore.trim()} > ${IP_FORWARD}`], { reject: false });
      await rm(netDir, { recursive: true, force: true });
    }
  });

  async function statusPodCidr(): Promise<string> {
    const { info } = await h.cri.runtime.status({ verbose: true });
    return (JSON.parse(info.config!) as { podCidr: string }).podCidr;
  }

  async function defaultSubnet(): Promise<string> {
    const text = await readFile(join(netDir, "conf", DEFAULT_CONFIG_FILE), "utf8");
    return (JSON.parse(text) as { plugins: { ipam?: { subnet: string } }[] }).plugins[0]!.ipam!.subnet;
  }

  const update = (podCidr: string) =>
    h.cri.runtime.updateRuntimeConfig({ runtimeConfig: { networkConfig: { podCidr } } });

  it("a bad CIDR is INVALID_ARGUMENT naming the field, and changes nothing", async () => {
    // Status writes berth's default network, on the initial subnet.
    expect(await statusPodCidr()).toBe("");
    expect(await defaultSubnet()).toBe(`${initialPrefix}0/24`);
    for (const bad of ["10.0.0.0/33", "nonsense", "10.0.0.0", "10.1.0.0/16,10.1.0.0/16"]) {
      const err = await grpcError(update(bad));
      expect(err.code, bad).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^runtime_config\.network_config\.pod_cidr/);
    }
    // An empty CIDR (a kubelet that does not know it yet) is fine and changes nothing.
    await update("");
    await h.cri.runtime.updateRuntimeConfig({});
    expect(await statusPodCidr()).toBe("");
    expect(await defaultSubnet()).toBe(`${initialPrefix}0/24`);
  });

  it("pods set up afterwards get addresses from the pod CIDR; Status shows it, also after a restart", async () => {
    await update(`${podCidrPrefix}0/24`);
    expect(await statusPodCidr()).toBe(`${podCidrPrefix}0/24`);
    expect(await defaultSubnet()).toBe(`${podCidrPrefix}0/24`);

    const config = sandboxConfig("cidr");
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const sandbox = await h.cri.runtime.podSandboxStatus({ podSandboxId, verbose: false });
    expect(sandbox.status!.network!.ip.startsWith(podCidrPrefix)).toBe(true);

    await h.stop();
    await h.restart();
    expect(await statusPodCidr()).toBe(`${podCidrPrefix}0/24`);
    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });
});
