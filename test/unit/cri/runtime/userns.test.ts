import { afterEach, describe, expect, it } from "vitest";
import { chmod, chown, link, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { NamespaceMode, type IDMapping, type NamespaceOption } from "../../../../cri/api/generated/api.js";
import {
  podUserNamespace,
  probeUserNamespaces,
  sameUserNamespace,
  shiftId,
  shiftOwnership,
} from "../../../../cri/runtime/userns.js";

const FIELD = "config.linux.security_context.namespace_options";
const ROOT_MAP: IDMapping = { containerId: 0, hostId: 100000, length: 65536 };

function ns(
  uids: IDMapping[],
  gids: IDMapping[] = uids,
  mode = NamespaceMode.POD,
  rest: Partial<NamespaceOption> = {},
): NamespaceOption {
  return { network: 0, pid: 0, ipc: 0, targetId: "", usernsOptions: { mode, uids, gids }, ...rest };
}

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err.field;
    throw err;
  }
  return undefined;
}

describe("podUserNamespace", () => {
  it("maps one root range for users and groups", () => {
    expect(podUserNamespace(ns([ROOT_MAP]), FIELD)).toEqual({
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    });
  });

  it("means the host's user namespace without options or in mode NODE", () => {
    expect(podUserNamespace(undefined, FIELD)).toBeUndefined();
    expect(podUserNamespace(ns([], [], NamespaceMode.NODE), FIELD)).toBeUndefined();
  });

  it.each<[string, NamespaceOption, string]>([
    ["mappings with NODE", ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.NODE), `${FIELD}.userns_options.uids`],
    ["no uid mapping", ns([], [ROOT_MAP]), `${FIELD}.userns_options.uids`],
    ["no gid mapping", ns([ROOT_MAP], []), `${FIELD}.userns_options.gids`],
    [
      "two mappings",
      ns([ROOT_MAP, { containerId: 65536, hostId: 1, length: 1 }]),
      `${FIELD}.userns_options.uids`,
    ],
    ["gids unlike uids", ns([ROOT_MAP], [{ ...ROOT_MAP, length: 1 }]), `${FIELD}.userns_options.gids`],
    [
      "container id not 0",
      ns([{ ...ROOT_MAP, containerId: 1 }]),
      `${FIELD}.userns_options.uids[0].container_id`,
    ],
    ["host root", ns([{ ...ROOT_MAP, hostId: 0 }]), `${FIELD}.userns_options.uids[0].host_id`],
    ["length 0", ns([{ ...ROOT_MAP, length: 0 }]), `${FIELD}.userns_options.uids[0].length`],
    [
      "past 2^32",
      ns([{ ...ROOT_MAP, hostId: 2 ** 32 - 10, length: 20 }]),
      `${FIELD}.userns_options.uids[0].length`,
    ],
    [
      "reaching the invalid id",
      ns([{ ...ROOT_MAP, hostId: 2 ** 32 - 10, length: 10 }]),
      `${FIELD}.userns_options.uids[0].length`,
    ],
    ["mode CONTAINER", ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.CONTAINER), `${FIELD}.userns_options.mode`],
    ["mode TARGET", ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.TARGET), `${FIELD}.userns_options.mode`],
    [
      "host network",
      ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.POD, { network: NamespaceMode.NODE }),
      `${FIELD}.network`,
    ],
    ["host PID", ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.POD, { pid: NamespaceMode.NODE }), `${FIELD}.pid`],
    ["host IPC", ns([ROOT_MAP], [ROOT_MAP], NamespaceMode.POD, { ipc: NamespaceMode.NODE }), `${FIELD}.ipc`],
  ])("refuses %s, naming the field", (_label, options, field) => {
    expect(fieldOf(() => podUserNamespace(options, FIELD))).toBe(field);
  });

  it("compares a container's request with its pod's", () => {
    const pod = podUserNamespace(ns([ROOT_MAP]), FIELD);
    const other = podUserNamespace(ns([{ ...ROOT_MAP, hostId: 200000 }]), FIELD);
    expect(sameUserNamespace(pod, podUserNamespace(ns([ROOT_MAP]), FIELD))).toBe(true);
    expect(sameUserNamespace(pod, other)).toBe(false);
    expect(sameUserNamespace(pod, undefined)).toBe(false);
    expect(sameUserNamespace(undefined, undefined)).toBe(true);
  });
});

describe("shiftId", () => {
  const m = { containerID: 0, hostID: 100000, size: 65536 };
  it("maps ids inside the range and leaves the others", () => {
    expect(shiftId(0, m)).toBe(100000);
    expect(shiftId(65535, m)).toBe(165535);
    expect(shiftId(65536, m)).toBe(65536);
  });
});

describe("shiftOwnership", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("chowns every file once by the mapping, keeping set-id bits", async () => {
    dir = await mkdtemp(join(tmpdir(), "userns-shift-"));
    await mkdir(join(dir, "etc/deep"), { recursive: true });
    await writeFile(join(dir, "etc/deep/file"), "x");
    await writeFile(join(dir, "suid"), "x");
    await chmod(join(dir, "suid"), 0o4755);
    await writeFile(join(dir, "user"), "x");
    await chown(join(dir, "user"), 1000, 1000);
    await writeFile(join(dir, "outside"), "x");
    await chown(join(dir, "outside"), 70000, 70000);
    await link(join(dir, "user"), join(dir, "hardlink"));
    await symlink("/nowhere", join(dir, "dangling"));
    const userns = podUserNamespace(ns([ROOT_MAP]), FIELD)!;

    await shiftOwnership(dir, userns);
    const owner = async (p: string) => {
      const s = await lstat(join(dir!, p));
      return `${s.uid}:${s.gid}`;
    };
    expect(await owner(".")).toBe("100000:100000");
    expect(await owner("etc/deep/file")).toBe("100000:100000");
    expect(await owner("user")).toBe("101000:101000"); // not shifted twice through its hard link
    expect(await owner("outside")).toBe("70000:70000");
    expect(await owner("dangling")).toBe("100000:100000");
    expect((await lstat(join(dir, "suid"))).mode & 0o7777).toBe(0o4755);
  });
});

describe("probeUserNamespaces", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("refuses a state dir the mapped root cannot reach, and a host with user namespaces off", async () => {
    dir = await mkdtemp(join(tmpdir(), "userns-probe-"));
    const max = join(dir, "max");
    await writeFile(max, "100\n");
    const state = join(dir, "state");
    await mkdir(state, { mode: 0o711 });
    await chmod(dir, 0o700);
    expect((await probeUserNamespaces([state], max)).reason).toContain(`${dir} (mode 700)`);
    await chmod(dir, 0o711);
    expect(await probeUserNamespaces([state], max)).toEqual({ supported: true, reason: "" });
    await writeFile(max, "0\n");
    expect((await probeUserNamespaces([state], max)).supported).toBe(false);
  });
});
