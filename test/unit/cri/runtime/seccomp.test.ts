import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { SecurityProfile_ProfileType } from "../../../../cri/api/generated/api.js";
import type { LinuxSeccomp, LinuxSeccompArg } from "../../../../cri/runtime/oci-types.js";
import {
  chooseSeccomp,
  defaultSeccompProfile,
  parseSeccompProfile,
  seccompFor,
} from "../../../../cri/runtime/seccomp.js";

const SC = "config.linux.security_context";
const DEFAULT_CAPS = new Set(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);

function deniedNames(profile: LinuxSeccomp): Set<string> {
  return new Set(
    (profile.syscalls ?? []).filter((s) => s.action === "SCMP_ACT_ERRNO" && !s.args).flatMap((s) => s.names),
  );
}

/** What libseccomp does with one condition on a 64-bit argument value. */
function holds(arg: LinuxSeccompArg, x: bigint): boolean {
  const value = BigInt(arg.value);
  switch (arg.op) {
    case "SCMP_CMP_GT":
      return x > value;
    case "SCMP_CMP_MASKED_EQ":
      return (x & value) === BigInt(arg.valueTwo ?? 0);
    default:
      throw new Error(`operator ${arg.op} not simulated`);
  }
}

function personalityDenied(profile: LinuxSeccomp, x: bigint): boolean {
  return (profile.syscalls ?? [])
    .filter((s) => s.names.includes("personality"))
    .some((s) => (s.args ?? []).every((a) => holds(a, x)));
}

describe("chooseSeccomp", () => {
  it("no profile and no legacy path: unconfined", () => {
    expect(chooseSeccomp(undefined, "", SC)).toEqual({ kind: "unconfined" });
  });

  it.each([
    [SecurityProfile_ProfileType.Unconfined, { kind: "unconfined" }],
    [SecurityProfile_ProfileType.RuntimeDefault, { kind: "runtime-default" }],
  ])("profile type %s", (profileType, expected) => {
    expect(chooseSeccomp({ profileType, localhostRef: "" }, "", SC)).toEqual(expected);
  });

  it("Localhost needs an absolute localhost_ref", () => {
    expect(
      chooseSeccomp(
        { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: "/etc/p.json" },
        "",
        SC,
      ),
    ).toEqual({ kind: "localhost", path: "/etc/p.json", field: `${SC}.seccomp.localhost_ref` });
    expect(() =>
      chooseSeccomp({ profileType: SecurityProfile_ProfileType.Localhost, localhostRef: "p.json" }, "", SC),
    ).toThrow(InvalidArgumentError);
  });

  it.each([
    ["unconfined", { kind: "unconfined" }],
    ["runtime/default", { kind: "runtime-default" }],
    ["docker/default", { kind: "runtime-default" }],
    [
      "localhost//var/lib/p.json",
      { kind: "localhost", path: "/var/lib/p.json", field: `${SC}.seccomp_profile_path` },
    ],
  ])("legacy path %s", (legacy, expected) => {
    expect(chooseSeccomp(undefined, legacy, SC)).toEqual(expected);
  });

  it("rejects unknown legacy paths", () => {
    expect(() => chooseSeccomp(undefined, "something", SC)).toThrow(/seccomp_profile_path/);
    expect(() => chooseSeccomp(undefined, "localhost/relative.json", SC)).toThrow(/seccomp_profile_path/);
  });
});

describe("defaultSeccompProfile", () => {
  const profile = defaultSeccompProfile(DEFAULT_CAPS, "x64");

  it("allows by default and denies the dangerous list with EPERM", () => {
    expect(profile.defaultAction).toBe("SCMP_ACT_ALLOW");
    const denied = deniedNames(profile);
    for (const name of [
      "kexec_load",
      "init_module",
      "reboot",
      "mount",
      "umount2",
      "unshare",
      "setns",
      "pivot_root",
      "ptrace",
      "process_vm_readv",
      "bpf",
      "perf_event_open",
      "keyctl",
      "add_key",
      "clock_settime",
      "settimeofday",
      "swapon",
      "open_by_handle_at",
      "userfaultfd",
      "syslog",
      "fsopen",
    ]) {
      expect(denied, name).toContain(name);
    }
    expect(denied).not.toContain("read");
    expect(profile.syscalls?.[0]?.errnoRet).toBe(1);
  });

  it("names the native architectures", () => {
    expect(profile.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(defaultSeccompProfile(DEFAULT_CAPS, "arm64").architectures).toEqual([
      "SCMP_ARCH_AARCH64",
      "SCMP_ARCH_ARM",
    ]);
    expect(defaultSeccompProfile(DEFAULT_CAPS, "riscv64").architectures).toBeUndefined();
  });

  it.each([
    ["CAP_SYS_ADMIN", ["mount", "umount2", "unshare", "setns", "pivot_root", "fsmount"]],
    ["CAP_SYS_PTRACE", ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp"]],
    ["CAP_SYS_TIME", ["settimeofday", "clock_settime", "clock_adjtime", "adjtimex"]],
    ["CAP_SYS_MODULE", ["init_module", "finit_module", "delete_module"]],
    ["CAP_SYS_BOOT", ["reboot"]],
    ["CAP_BPF", ["bpf"]],
  ])("%s lets its syscalls through", (cap, names) => {
    const denied = deniedNames(defaultSeccompProfile(new Set([...DEFAULT_CAPS, cap]), "x64"));
    for (const name of names) expect(denied, name).not.toContain(name);
  });

  it("keeps kexec and the keyring denied even with every capability", () => {
    const denied = deniedNames(defaultSeccompProfile(new Set(["CAP_SYS_ADMIN", "CAP_SYS_BOOT"]), "x64"));
    expect(denied).toContain("kexec_load");
    expect(denied).toContain("keyctl");
  });

  it("denies namespace-creating clone flags and clone3 unless CAP_SYS_ADMIN", () => {
    const cloneRules = (p: LinuxSeccomp) => (p.syscalls ?? []).filter((s) => s.names.includes("clone"));
    const newUser = 0x10000000n;
    expect(cloneRules(profile).some((r) => (r.args ?? []).every((a) => holds(a, newUser)))).toBe(true);
    expect(cloneRules(profile).some((r) => (r.args ?? []).every((a) => holds(a, 0x11n /* SIGCHLD */)))).toBe(
      false,
    );
    expect(profile.syscalls?.find((s) => s.names.includes("clone3"))?.errnoRet).toBe(38);
    const admin = defaultSeccompProfile(new Set(["CAP_SYS_ADMIN"]), "x64");
    expect(cloneRules(admin)).toEqual([]);
    expect(admin.syscalls?.some((s) => s.names.includes("clone3"))).toBe(false);
  });

  it("allows exactly the common personality values", () => {
    for (const x of [0x0n, 0x8n, 0x20000n, 0x20008n, 0xffffffffn]) {
      expect(personalityDenied(profile, x), x.toString(16)).toBe(false);
    }
    const allowed = new Set([0x0n, 0x8n, 0x20000n, 0x20008n]);
    // Every value up to 2^18, then every single-bit and all-but-one-bit pattern, then random ones.
    const wronglyAllowed: string[] = [];
    for (let x = 0n; x < 1n << 18n; x++) {
      if (!allowed.has(x) && !personalityDenied(profile, x)) wronglyAllowed.push(x.toString(16));
    }
    expect(wronglyAllowed).toEqual([]);
    for (let bit = 0n; bit < 32n; bit++) {
      const one = 1n << bit;
      if (!allowed.has(one)) expect(personalityDenied(profile, one)).toBe(true);
      expect(personalityDenied(profile, 0xffffffffn ^ one), `all but ${bit}`).toBe(true);
    }
    let seed = 12345n;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
      const x = seed >> 32n;
      expect(personalityDenied(profile, x)).toBe(!allowed.has(x) && x !== 0xffffffffn);
    }
    expect(personalityDenied(profile, 0x100000000n)).toBe(true);
    expect(personalityDenied(profile, 0x1ffffffffn)).toBe(true);
  });

  it("puts one condition in each personality rule, so that the rules OR together", () => {
    const rules = (profile.syscalls ?? []).filter((s) => s.names.includes("personality"));
    expect(rules.length).toBeGreaterThan(1);
    for (const rule of rules) expect(rule.args).toHaveLength(1);
  });
});

describe("seccompFor", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-seccomp-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const ctx = { capabilities: DEFAULT_CAPS, privileged: false, arch: "x64" };

  it("unconfined: no filter; runtime default: berth's profile", async () => {
    expect(await seccompFor({ kind: "unconfined" }, ctx)).toBeUndefined();
    expect(await seccompFor({ kind: "runtime-default" }, ctx)).toEqual(
      defaultSeccompProfile(DEFAULT_CAPS, "x64"),
    );
  });

  it("privileged: no filter whatever the choice", async () => {
    const missing = { kind: "localhost" as const, path: join(dir, "missing.json"), field: "f" };
    expect(await seccompFor({ kind: "runtime-default" }, { ...ctx, privileged: true })).toBeUndefined();
    expect(await seccompFor(missing, { ...ctx, privileged: true })).toBeUndefined();
  });

  it("Localhost: a missing file names the field", async () => {
    const choice = {
      kind: "localhost" as const,
      path: join(dir, "missing.json"),
      field: `${SC}.seccomp.localhost_ref`,
    };
    const err = await seccompFor(choice, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe(`${SC}.seccomp.localhost_ref`);
    expect((err as Error).message).toMatch(/does not exist/);
  });

  it("Localhost: loads an OCI-format profile", async () => {
    const path = join(dir, "oci.json");
    const profile = {
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      architectures: ["SCMP_ARCH_X86_64"],
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        {
          names: ["personality"],
          action: "SCMP_ACT_ALLOW",
          args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }],
        },
      ],
    };
    await writeFile(path, JSON.stringify(profile));
    const choice = { kind: "localhost" as const, path, field: "f" };
    expect(await seccompFor(choice, ctx)).toEqual(profile);
  });

  it("Localhost: reduces a Docker-format profile to this host and these capabilities", async () => {
    const path = join(dir, "docker.json");
    await writeFile(
      path,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        archMap: [
          { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86", "SCMP_ARCH_X32"] },
          { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
        ],
        syscalls: [
          { names: ["read"], action: "SCMP_ACT_ALLOW", comment: "always" },
          { name: "mount", action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
          { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64"] } },
          { names: ["chown"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_CHOWN"] } },
        ],
      }),
    );
    const profile = await seccompFor({ kind: "localhost", path, field: "f" }, ctx);
    expect(profile?.architectures).toEqual(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    expect(profile?.syscalls?.map((s) => s.names)).toEqual([["read"], ["arch_prctl"]]);
  });

  it.each([
    ["not json", /not valid JSON/],
    ["[]", /not a JSON object/],
    [JSON.stringify({ defaultAction: "SCMP_ACT_MAYBE" }), /unsupported action/],
    [
      JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ action: "SCMP_ACT_ERRNO" }] }),
      /names no syscall/,
    ],
    [
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["x"], action: "SCMP_ACT_ERRNO", args: [{ index: 9, value: 1, op: "SCMP_CMP_EQ" }] },
        ],
      }),
      /index must be 0-5/,
    ],
    [
      JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_Z80"] }),
      /unknown architecture/,
    ],
  ])("rejects a bad profile: %s", (text, message) => {
    expect(() => parseSeccompProfile(text, "f", ctx)).toThrow(message);
  });
});
