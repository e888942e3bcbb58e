import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  chooseCniVersion,
  defaultNetworkConfig,
  findNetworkConfig,
  findPlugin,
  missingPlugins,
  parseNetworkConfig,
  pluginTypesOf,
  rewriteDefaultConfig,
  writeDefaultConfig,
} from "../../../../cri/network/cni-config.js";
import { installFakePlugins } from "./fake-plugins.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-cni-config-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const list = (name: string, plugins: unknown[] = [{ type: "bridge" }]) =>
  JSON.stringify({ cniVersion: "1.0.0", name, plugins });

describe("finding the network config", () => {
  it("picks the first config file in name order, ignoring other extensions and directories", async () => {
    await writeFile(join(dir, "20-b.conflist"), list("b"));
    await writeFile(join(dir, "10-a.conflist"), list("a"));
    await writeFile(join(dir, "05-notes.txt"), "not a config");
    await mkdir(join(dir, "01-dir.conflist"));
    const search = await findNetworkConfig(dir);
    expect(search.network?.name).toBe("a");
    expect(search.network?.source).toBe(join(dir, "10-a.conflist"));
    expect(search.candidates).toEqual([join(dir, "10-a.conflist"), join(dir, "20-b.conflist")]);
    expect(search.skipped).toEqual([]);
  });

  it("orders by byte value, so upper case sorts before lower case and digits first", async () => {
    await writeFile(
      join(dir, "b.conf"),
      JSON.stringify({ cniVersion: "1.0.0", name: "lower", type: "bridge" }),
    );
    await writeFile(
      join(dir, "B.json"),
      JSON.stringify({ cniVersion: "1.0.0", name: "upper", type: "bridge" }),
    );
    expect((await findNetworkConfig(dir)).network?.name).toBe("upper");
    await writeFile(join(dir, "9.conflist"), list("digit"));
    expect((await findNetworkConfig(dir)).network?.name).toBe("digit");
  });

  it("wraps a single .conf or .json config as a list of one", async () => {
    const single = {
      cniVersion: "0.4.0",
      name: "single",
      type: "bridge",
      bridge: "b1",
      ipam: { type: "host-local" },
    };
    await writeFile(join(dir, "10-single.conf"), JSON.stringify(single));
    const network = (await findNetworkConfig(dir)).network;
    expect(network).toEqual({
      name: "single",
      cniVersion: "0.4.0",
      disableCheck: false,
      plugins: [single],
      source: join(dir, "10-single.conf"),
    });
  });

  it("skips invalid files with a reason and takes the next valid one", async () => {
    await writeFile(join(dir, "01-broken.conflist"), "{ not json");
    await writeFile(
      join(dir, "02-empty.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "e", plugins: [] }),
    );
    await writeFile(join(dir, "03-notype.conf"), JSON.stringify({ cniVersion: "1.0.0", name: "n" }));
    await writeFile(join(dir, "04-badname.conflist"), list("-bad"));
    await writeFile(
      join(dir, "05-noversion.conflist"),
      JSON.stringify({ name: "v", plugins: [{ type: "x" }] }),
    );
    await writeFile(join(dir, "06-pathtype.conflist"), list("p", [{ type: "../../bin/sh" }]));
    await writeFile(join(dir, "07-array.json"), "[]");
    await writeFile(
      join(dir, "08-badcheck.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "c", disableCheck: "yes", plugins: [{ type: "x" }] }),
    );
    await writeFile(join(dir, "10-good.conflist"), list("good"));
    const search = await findNetworkConfig(dir);
    expect(search.network?.name).toBe("good");
    const reasons = Object.fromEntries(search.skipped.map((s) => [s.file.slice(dir.length + 1), s.reason]));
    expect(Object.keys(reasons)).toHaveLength(8);
    expect(reasons["01-broken.conflist"]).toMatch(/invalid JSON/);
    expect(reasons["02-empty.conflist"]).toMatch(/non-empty plugins/);
    expect(reasons["03-notype.conf"]).toMatch(/no type/);
    expect(reasons["04-badname.conflist"]).toMatch(/^name/);
    expect(reasons["05-noversion.conflist"]).toMatch(/cniVersion/);
    expect(reasons["06-pathtype.conflist"]).toMatch(/invalid type/);
    expect(reasons["07-array.json"]).toMatch(/not a JSON object/);
    expect(reasons["08-badcheck.conflist"]).toMatch(/disableCheck/);
  });

  it("reads disableCheck as a boolean or the spec's string", () => {
    const parse = (value: unknown) =>
      parseNetworkConfig(
        "x.conflist",
        JSON.stringify({ cniVersion: "1.0.0", name: "n", disableCheck: value, plugins: [{ type: "a" }] }),
      ).disableCheck;
    expect(parse(true)).toBe(true);
    expect(parse("true")).toBe(true);
    expect(parse("false")).toBe(false);
    expect(parse(undefined)).toBe(false);
  });

  it("finds nothing in a missing dir", async () => {
    expect(await findNetworkConfig(join(dir, "absent"))).toEqual({ candidates: [], skipped: [] });
  });
});

describe("plugins", () => {
  it("counts IPAM plugins among the plugins a network needs", () => {
    const network = parseNetworkConfig(
      "a.conflist",
      list("a", [{ type: "bridge", ipam: { type: "host-local" } }, { type: "portmap" }, { type: "bridge" }]),
    );
    expect(pluginTypesOf(network)).toEqual(["bridge", "host-local", "portmap"]);
  });

  it("finds executables in the first dir that has them and reports the missing ones", async () => {
    const first = join(dir, "first");
    const second = join(dir, "second");
    await mkdir(first);
    await mkdir(second);
    await writeFile(join(first, "portmap"), "#!/bin/sh\n");
    await chmod(join(first, "portmap"), 0o644); // not executable: does not count
    await installFakePlugins(second, ["bridge", "portmap"]);
    expect(await findPlugin("bridge", [first, second])).toBe(join(second, "bridge"));
    expect(await findPlugin("portmap", [first, second])).toBe(join(second, "portmap"));
    expect(await findPlugin("../second/bridge", [first])).toBeUndefined();
    const network = parseNetworkConfig(
      "a.conflist",
      list("a", [{ type: "bridge", ipam: { type: "host-local" } }, { type: "portmap" }]),
    );
    expect(await missingPlugins(network, [first, second])).toEqual(["host-local"]);
  });
});

describe("the default network", () => {
  it("prefers 1.0.0, else the newest version every plugin speaks", () => {
    expect(
      chooseCniVersion([
        ["0.4.0", "1.0.0", "1.1.0"],
        ["1.0.0", "1.1.0"],
      ]),
    ).toBe("1.0.0");
    expect(
      chooseCniVersion([
        ["0.3.1", "0.4.0"],
        ["0.3.1", "0.4.0", "1.0.0"],
      ]),
    ).toBe("0.4.0");
    expect(
      chooseCniVersion([
        ["0.3.0", "0.10.0", "0.4.0"],
        ["0.10.0", "0.4.0"],
      ]),
    ).toBe("0.10.0");
    expect(chooseCniVersion([["0.1.0"], ["0.2.0"]])).toBeUndefined();
  });

  it("is a bridge with host-local addresses and portmap, with the options given", () => {
    expect(
      defaultNetworkConfig(
        { ipamDataDir: "/var/lib/berth/cni/ipam", bridgeName: "bt1", subnet: "10.250.3.0/24", ipMasq: false },
        "1.0.0",
      ),
    ).toEqual({
      cniVersion: "1.0.0",
      name: "berth",
      plugins: [
        {
          type: "bridge",
          bridge: "bt1",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            subnet: "10.250.3.0/24",
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: "/var/lib/berth/cni/ipam",
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    });
    const defaults = defaultNetworkConfig({ ipamDataDir: "/d" }, "1.0.0") as {
      plugins: Record<string, unknown>[];
    };
    expect(defaults.plugins[0]).toMatchObject({
      bridge: "berth0",
      ipMasq: true,
      ipam: { subnet: "10.88.0.0/16" },
    });
  });

  it("rejects bridge names and subnets the kernel or host-local would refuse", () => {
    expect(() =>
      defaultNetworkConfig({ ipamDataDir: "/d", bridgeName: "a-name-far-too-long" }, "1.0.0"),
    ).toThrow(InvalidArgumentError);
    expect(() => defaultNetworkConfig({ ipamDataDir: "/d", subnet: "10.0.0.0" }, "1.0.0")).toThrow(/subnet/);
    expect(() => defaultNetworkConfig({ ipamDataDir: "/d", subnet: "10.0.0.300/24" }, "1.0.0")).toThrow(
      /subnet/,
    );
  });

  it("is written with the version the installed plugins speak, only when no config exists", async () => {
    const plugins = join(dir, "bin");
    const confDir = join(dir, "net.d");
    await mkdir(plugins);
    await installFakePlugins(plugins, ["bridge", "host-local"], "0.3.1,0.4.0,1.0.0");
    await installFakePlugins(plugins, ["portmap"], "0.3.1,0.4.0");
    const written = await writeDefaultConfig(confDir, { ipamDataDir: join(dir, "ipam") }, [plugins]);
    expect(written).toBe(join(confDir, "10-berth.conflist"));
    const config = JSON.parse(await readFile(written!, "utf8")) as { cniVersion: string; name: string };
    expect(config.cniVersion).toBe("0.4.0");
    expect((await findNetworkConfig(confDir)).network?.name).toBe("berth");

    // Any file with a config extension, even an invalid one, means the admin has a say.
    await rm(written!);
    await writeFile(join(confDir, "50-mine.conf"), "{ broken");
    expect(await writeDefaultConfig(confDir, { ipamDataDir: "/d" }, [plugins])).toBeUndefined();
    expect(await readFile(join(confDir, "50-mine.conf"), "utf8")).toBe("{ broken");
  });

  it("is rewritten for a new subnet, keeping its version; an operator's own network never is", async () => {
    const confDir = join(dir, "net.d");
    await mkdir(confDir);
    const path = join(confDir, "10-berth.conflist");
    await writeFile(path, JSON.stringify(defaultNetworkConfig({ ipamDataDir: "/d" }, "0.4.0")));
    expect(await rewriteDefaultConfig(confDir, { ipamDataDir: "/d", subnet: "10.244.3.0/24" })).toBe(path);
    const config = JSON.parse(await readFile(path, "utf8")) as {
      cniVersion: string;
      plugins: { ipam?: { subnet: string } }[];
    };
    expect(config.cniVersion).toBe("0.4.0");
    expect(config.plugins[0]?.ipam?.subnet).toBe("10.244.3.0/24");

    const mine = list("mine");
    await writeFile(path, mine);
    expect(
      await rewriteDefaultConfig(confDir, { ipamDataDir: "/d", subnet: "10.244.3.0/24" }),
    ).toBeUndefined();
    expect(await readFile(path, "utf8")).toBe(mine);
    await expect(rewriteDefaultConfig(confDir, { ipamDataDir: "/d", subnet: "fd00::/64" })).rejects.toThrow(
      /subnet/,
    );
  });
});
