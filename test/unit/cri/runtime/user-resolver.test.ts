import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  IMAGE_USER_FIELD,
  RUN_AS_USERNAME_FIELD,
  parseGroup,
  parsePasswd,
  readFileInRootfs,
  resolveUser,
  type UserRequest,
} from "../../../../cri/runtime/user-resolver.js";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "daemon:x:1:1::/:/usr/sbin/nologin",
  "# a comment",
  "broken line without fields",
  "app:x:1000:1000:App:/home/app:/bin/sh",
  "other:x:1001:1002::/:/bin/sh",
  "bad:x:notanumber:1::/:/bin/sh",
  "",
].join("\n");

const GROUP = [
  "root:x:0:",
  "daemon:x:1:",
  "wheel:x:10:app",
  "audio:x:29:other",
  "staff:x:50:app, other",
  "app:x:1000:",
  "",
].join("\n");

let base: string;
let rootfs: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "berth-user-resolver-"));
  rootfs = join(base, "rootfs");
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await writeFile(join(rootfs, "etc", "passwd"), PASSWD);
  await writeFile(join(rootfs, "etc", "group"), GROUP);
  // A host file an image must never be able to point berth at.
  await mkdir(join(base, "host-etc"));
  await writeFile(join(base, "host-etc", "passwd"), "evil:x:0:0::/:/bin/sh\n");
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function expectInvalid(promise: Promise<unknown>, field: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as InvalidArgumentError).field).toBe(field);
}

describe("parsePasswd / parseGroup", () => {
  it("skips comments and malformed lines", () => {
    expect(parsePasswd(PASSWD).map((u) => u.name)).toEqual(["root", "daemon", "app", "other"]);
    expect(parseGroup(GROUP).find((g) => g.name === "staff")?.members).toEqual(["app", "other"]);
  });
});

describe("resolveUser from the image User", () => {
  it.each<[string, UserRequest, { uid: number; gid: number; additionalGids: number[] }]>([
    ["nothing: root", {}, { uid: 0, gid: 0, additionalGids: [0] }],
    ["empty string: root", { user: "" }, { uid: 0, gid: 0, additionalGids: [0] }],
    ["a name", { user: "app" }, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] }],
    ["a uid in passwd", { user: "1000" }, { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50] }],
    ["another name", { user: "other" }, { uid: 1001, gid: 1002, additionalGids: [1002, 29, 50] }],
    ["a uid not in passwd", { user: "5000" }, { uid: 5000, gid: 0, additionalGids: [0] }],
    ["uid:gid", { user: "5000:6000" }, { uid: 5000, gid: 6000, additionalGids: [6000] }],
    ["name:group", { user: "app:staff" }, { uid: 1000, gid: 50, additionalGids: [50, 10] }],
    ["name:gid", { user: "app:29" }, { uid: 1000, gid: 29, additionalGids: [29, 10, 50] }],
    ["uid:group", { user: "1001:wheel" }, { uid: 1001, gid: 10, additionalGids: [10, 29, 50] }],
  ])("%s", async (_label, request, expected) => {
    expect(await resolveUser(rootfs, request)).toEqual(expected);
  });

  it("fails on an unknown user name, naming the image's User", async () => {
    await expectInvalid(resolveUser(rootfs, { user: "nobody" }), IMAGE_USER_FIELD);
  });

  it("fails on an unknown group name", async () => {
    await expectInvalid(resolveUser(rootfs, { user: "app:nogroup" }), IMAGE_USER_FIELD);
  });
});

describe("resolveUser from the security context", () => {
  it("run_as_user wins over the image User and takes the passwd group", async () => {
    expect(await resolveUser(rootfs, { user: "root", runAsUser: 1000 })).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 10, 50],
    });
  });

  it("run_as_group replaces the primary group", async () => {
    expect(await resolveUser(rootfs, { runAsUser: 1000, runAsGroup: 7 })).toEqual({
      uid: 1000,
      gid: 7,
      additionalGids: [7, 10, 50],
    });
  });

  it("run_as_username is looked up in the image", async () => {
    expect(await resolveUser(rootfs, { runAsUsername: "other" })).toEqual({
      uid: 1001,
      gid: 1002,
      additionalGids: [1002, 29, 50],
    });
  });

  it("an unknown run_as_username names that field", async () => {
    await expectInvalid(resolveUser(rootfs, { runAsUsername: "ghost" }), RUN_AS_USERNAME_FIELD);
  });

  it("appends supplemental groups once each", async () => {
    expect(await resolveUser(rootfs, { user: "app", supplementalGroups: [1234, 50, 1234] })).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 10, 50, 1234],
    });
  });

  it("Strict policy ignores /etc/group memberships", async () => {
    expect(
      await resolveUser(rootfs, { user: "app", supplementalGroups: [1234], strictSupplementalGroups: true }),
    ).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1234] });
  });

  it("rejects ids the kernel cannot take", async () => {
    await expectInvalid(resolveUser(rootfs, { runAsUser: -1 }), "config.linux.security_context.run_as_user");
    await expectInvalid(
      resolveUser(rootfs, { runAsUser: 0, supplementalGroups: [2 ** 32] }),
      "config.linux.security_context.supplemental_groups",
    );
  });
});

describe("reading account files inside the rootfs only", () => {
  async function rootWith(name: string, setup: (root: string) => Promise<void>): Promise<string> {
    const root = join(base, name);
    await mkdir(join(root, "etc"), { recursive: true });
    await setup(root);
    return root;
  }

  it("resolves an absolute symlink against the rootfs, not the host", async () => {
    const root = await rootWith("abs-link", async (r) => {
      await symlink(join(base, "host-etc", "passwd"), join(r, "etc", "passwd"));
    });
    expect(await readFileInRootfs(root, "/etc/passwd")).toBeUndefined();
    await expectInvalid(resolveUser(root, { user: "evil" }), IMAGE_USER_FIELD);
  });

  it("keeps a relative symlink full of .. at the rootfs top", async () => {
    const root = await rootWith("dotdot-link", async (r) => {
      await symlink("../../../../../../host-etc/passwd", join(r, "etc", "passwd"));
    });
    expect(await readFileInRootfs(root, "/etc/passwd")).toBeUndefined();
  });

  it("follows symlinks that stay inside", async () => {
    const root = await rootWith("inner-link", async (r) => {
      await mkdir(join(r, "real-etc"));
      await writeFile(join(r, "real-etc", "passwd"), "svc:x:77:88::/:/bin/sh\n");
      await rm(join(r, "etc"), { recursive: true });
      await symlink("/real-etc", join(r, "etc"));
    });
    expect(await resolveUser(root, { user: "svc" })).toEqual({ uid: 77, gid: 88, additionalGids: [88] });
  });

  it("treats a missing /etc/passwd as empty", async () => {
    const root = await rootWith("no-passwd", async () => {});
    expect(await resolveUser(root, { user: "42:43" })).toEqual({ uid: 42, gid: 43, additionalGids: [43] });
    await expectInvalid(resolveUser(root, { user: "app" }), IMAGE_USER_FIELD);
  });

  it("treats a directory in place of /etc/passwd as absent", async () => {
    const root = await rootWith("dir-passwd", async (r) => {
      await mkdir(join(r, "etc", "passwd"));
    });
    expect(await readFileInRootfs(root, "/etc/passwd")).toBeUndefined();
  });

  it("stops at symlink loops", async () => {
    const root = await rootWith("loop", async (r) => {
      await symlink("/etc/b", join(r, "etc", "a"));
      await symlink("/etc/a", join(r, "etc", "b"));
      await symlink("/etc/a", join(r, "etc", "passwd"));
    });
    await expect(readFileInRootfs(root, "/etc/passwd")).rejects.toThrow(/symbolic links/);
  });
});
