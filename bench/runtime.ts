// Sandbox and container start latency through berth's socket, beside the same steps done
// with raw runc on this machine (the floor): a netns plus an infra container for a
// sandbox, `runc create` and `runc start` for a container.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { sandboxConfig, startHarness } from "../test/helpers/runtime-harness.js";
import { containerConfig } from "../test/helpers/cri-fixtures.js";
import { printTable, timeMs } from "./stats-util.js";

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20);

export async function main(): Promise<void> {
  const berth = await benchBerth();
  const raw = await benchRawRunc();
  printTable(`container start latency (${ITERATIONS} runs each; baseline: raw runc)`, [
    { name: "RunPodSandbox", samples: berth.sandbox, baseline: raw.sandbox },
    { name: "CreateContainer", samples: berth.create, baseline: raw.create },
    { name: "StartContainer", samples: berth.start, baseline: raw.start },
  ]);
}

async function benchBerth(): Promise<{ sandbox: number[]; create: number[]; start: number[] }> {
  const h = await startHarness();
  const out = { sandbox: [] as number[], create: [] as number[], start: [] as number[] };
  try {
    const image = await h.importBusybox();
    for (let i = 0; i < ITERATIONS; i++) {
      const config = sandboxConfig(`bench-${i}`);
      let podSandboxId = "";
      out.sandbox.push(
        await timeMs(
          async () => ({ podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })),
        ),
      );
      let containerId = "";
      out.create.push(
        await timeMs(
          async () =>
            ({ containerId } = await h.cri.runtime.createContainer({
              podSandboxId,
              config: containerConfig("c", image, ["sleep", "1000"]),
              sandboxConfig: config,
            })),
        ),
      );
      out.start.push(await timeMs(() => h.cri.runtime.startContainer({ containerId })));
      await h.cri.runtime.removePodSandbox({ podSandboxId });
    }
  } finally {
    await h.cleanup();
  }
  return out;
}

async function benchRawRunc(): Promise<{ sandbox: number[]; create: number[]; start: number[] }> {
  const root = await mkdtemp(join(tmpdir(), "bench-runc-"));
  const runcRoot = join(root, "runc");
  const cgroup = `berth-bench-${randomBytes(3).toString("hex")}`;
  const rootfs = join(root, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await cp("/bin/busybox", join(rootfs, "bin", "busybox"));
  for (const d of ["proc", "dev", "sys", "tmp"]) await mkdir(join(rootfs, d));
  const out = { sandbox: [] as number[], create: [] as number[], start: [] as number[] };
  // The container inherits runc's stdio on create/run: ignore it, or the call never ends.
  const runc = (...args: string[]) => execa("runc", ["--root", runcRoot, ...args], { stdio: "ignore" });
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const netns = join(root, `netns-${i}`);
      const infra = await bundle(
        root,
        `infra-${i}`,
        rootfs,
        `${cgroup}/infra-${i}`,
        ["/bin/busybox", "sleep", "1000"],
        netns,
      );
      out.sandbox.push(
        await timeMs(async () => {
          await writeFile(netns, "");
          await execa("unshare", [`--net=${netns}`, "ip", "link", "set", "lo", "up"]);
          await runc("run", "--detach", "--bundle", infra, `infra-${i}`);
        }),
      );
      const ctr = await bundle(
        root,
        `ctr-${i}`,
        rootfs,
        `${cgroup}/ctr-${i}`,
        ["/bin/busybox", "sleep", "1000"],
        netns,
      );
      out.create.push(await timeMs(() => runc("create", "--bundle", ctr, `ctr-${i}`)));
      out.start.push(await timeMs(() => runc("start", `ctr-${i}`)));
      for (const id of [`ctr-${i}`, `infra-${i}`]) await runc("delete", "--force", id);
      await execa("umount", [netns]);
    }
  } finally {
    await execa(
      "sh",
      [
        "-c",
        `for d in $(find /sys/fs/cgroup -maxdepth 5 -name '${cgroup}'); do find $d -depth -type d -exec rmdir {} \\; ; done`,
      ],
      { reject: false },
    );
    await rm(root, { recursive: true, force: true });
  }
  return out;
}

async function bundle(
  root: string,
  name: string,
  rootfs: string,
  cgroupsPath: string,
  args: string[],
  netns: string,
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const spec = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ["PATH=/bin"],
      cwd: "/",
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: name,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      {
        destination: "/dev",
        type: "tmpfs",
        source: "tmpfs",
        options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
      },
    ],
    linux: {
      cgroupsPath,
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network", path: netns },
      ],
    },
  };
  await writeFile(join(dir, "config.json"), JSON.stringify(spec));
  return dir;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
