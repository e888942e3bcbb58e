// Fixture cgroup trees in temp dirs, with file contents copied in shape from real kernels
// (6.x for v2, 4.x/5.x-style v1 as on hybrid hosts).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export async function makeTempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "berth-cgroups-"));
}

export async function removeTempRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

/** Writes `files` (paths relative to `root`) and creates their directories. */
export async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

export const V2_CPU_STAT = `usage_usec 8214093
user_usec 5631402
system_usec 2582691
core_sched.force_idle_usec 0
nr_periods 1402
nr_throttled 37
throttled_usec 1893311
nr_bursts 0
burst_usec 0
`;

export const V2_MEMORY_STAT = `anon 1851392
file 5251072
kernel 1024000
kernel_stack 65536
pagetables 131072
sec_pagetables 0
percpu 1200
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 2162688
file_dirty 4096
file_writeback 0
swapcached 0
anon_thp 0
file_thp 0
shmem_thp 0
inactive_anon 1822720
active_anon 28672
inactive_file 3104768
active_file 2146304
unevictable 0
slab_reclaimable 546368
slab_unreclaimable 212296
slab 758664
workingset_refault_anon 0
workingset_refault_file 12
workingset_activate_anon 0
workingset_activate_file 3
workingset_restore_anon 0
workingset_restore_file 0
workingset_nodereclaim 0
pgscan 0
pgsteal 0
pgscan_kswapd 0
pgscan_direct 0
pgsteal_kswapd 0
pgsteal_direct 0
pgfault 9523
pgmajfault 41
pgrefill 0
pgactivate 530
pgdeactivate 0
pglazyfree 0
pglazyfreed 0
thp_fault_alloc 0
thp_collapse_alloc 0
`;

export const V2_MEMORY_EVENTS = `low 0
high 0
max 12
oom 2
oom_kill 1
oom_group_kill 0
`;

export const V2_IO_STAT = `8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
253:1 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=512 dios=1 cost.vrate=100.00 cost.usage=1 cost.wait=0 cost.indebt=0 cost.indelay=0
`;

export const PSI_WITH_FULL = `some avg10=1.25 avg60=0.50 avg300=0.11 total=8980558
full avg10=0.75 avg60=0.20 avg300=0.05 total=4012
`;

/** As cpu.pressure reads on kernels before 5.13, which have no "full" line for cpu. */
export const PSI_SOME_ONLY = `some avg10=0.00 avg60=0.03 avg300=0.00 total=1207
`;

/** A complete cgroup v2 container cgroup. */
export function v2CgroupFiles(dir: string, overrides: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = {
    "cgroup.procs": "4242\n4243\n",
    "cgroup.controllers": "cpu io memory pids\n",
    "cgroup.subtree_control": "\n",
    "cpu.stat": V2_CPU_STAT,
    "cpu.weight": "39\n",
    "cpu.max": "50000 100000\n",
    "memory.current": "7340032\n",
    "memory.max": "268435456\n",
    "memory.stat": V2_MEMORY_STAT,
    "memory.events": V2_MEMORY_EVENTS,
    "memory.peak": "9437184\n",
    "memory.swap.current": "0\n",
    "memory.swap.max": "max\n",
    "pids.current": "3\n",
    "pids.max": "1024\n",
    "io.stat": V2_IO_STAT,
    "cpu.pressure": PSI_WITH_FULL,
    "memory.pressure": PSI_WITH_FULL,
    "io.pressure": PSI_SOME_ONLY,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(files).map(([name, content]) => [join(dir, name), content]));
}

export const V1_MEMORY_STAT = `cache 1093632
rss 1671168
rss_huge 0
shmem 0
mapped_file 24576
dirty 20480
writeback 0
workingset_refault_anon 0
workingset_refault_file 343
swap 0
swapcached 0
pgpgin 11580
pgpgout 10904
pgfault 27048
pgmajfault 26
inactive_anon 1560576
active_anon 12288
inactive_file 106496
active_file 987136
unevictable 0
hierarchical_memory_limit 536870912
hierarchical_memsw_limit 9223372036854771712
total_cache 2187264
total_rss 3342336
total_rss_huge 0
total_shmem 0
total_mapped_file 49152
total_dirty 20480
total_writeback 0
total_workingset_refault_anon 0
total_workingset_refault_file 343
total_swap 0
total_swapcached 0
total_pgpgin 23160
total_pgpgout 21808
total_pgfault 54096
total_pgmajfault 52
total_inactive_anon 3121152
total_active_anon 24576
total_inactive_file 212992
total_active_file 1974272
total_unevictable 0
`;

export const V1_OOM_CONTROL = `oom_kill_disable 0
under_oom 0
oom_kill 3
`;

export const V1_UNLIMITED = "9223372036854771712\n";

/** A cgroup v1 cgroup as it appears in the cpu,cpuacct, memory and pids hierarchies. */
export function v1CgroupFiles(
  mounts: { cpu: string; memory: string; pids: string },
  overrides: Record<string, string> = {},
): Record<string, string> {
  const files: Record<string, string> = {
    [join(mounts.cpu, "cgroup.procs")]: "4242\n",
    [join(mounts.cpu, "cpuacct.usage")]: "68245449246\n",
    [join(mounts.cpu, "cpuacct.stat")]: "user 4082\nsystem 2741\n",
    [join(mounts.cpu, "cpu.stat")]:
      "nr_periods 500\nnr_throttled 20\nthrottled_time 734210887\nnr_bursts 0\nburst_time 0\n",
    [join(mounts.memory, "cgroup.procs")]: "4242\n",
    [join(mounts.memory, "memory.usage_in_bytes")]: "4558848\n",
    [join(mounts.memory, "memory.limit_in_bytes")]: "536870912\n",
    [join(mounts.memory, "memory.max_usage_in_bytes")]: "6234112\n",
    [join(mounts.memory, "memory.failcnt")]: "7\n",
    [join(mounts.memory, "memory.stat")]: V1_MEMORY_STAT,
    [join(mounts.memory, "memory.oom_control")]: V1_OOM_CONTROL,
    [join(mounts.pids, "cgroup.procs")]: "4242\n",
    [join(mounts.pids, "pids.current")]: "5\n",
    [join(mounts.pids, "pids.max")]: "max\n",
  };
  return { ...files, ...overrides };
}

/** /proc/self/mountinfo of a systemd hybrid host (cpu and cpuacct mounted apart, as on this host). */
export const HYBRID_MOUNTINFO = `24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;

export const HYBRID_PROC_CGROUP = `9:name=systemd:/system.slice/berth.service
8:pids:/
6:devices:/
4:memory:/process_api/d9dc5d6c
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/system.slice/berth.service
`;

/** A Debian 12 / systemd unified host. */
export const UNIFIED_MOUNTINFO = `22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
25 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

export const UNIFIED_PROC_CGROUP = "0::/system.slice/berth.service\n";

/** An older legacy host: cpu and cpuacct co-mounted (systemd adds cpu and cpuacct symlinks to it). */
export const LEGACY_MOUNTINFO = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct
30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory
31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset,clone_children
`;

export const LEGACY_PROC_CGROUP = `5:cpuset:/
4:pids:/system.slice/berth.service
3:memory:/system.slice/berth.service
2:cpu,cpuacct:/system.slice/berth.service
1:name=systemd:/system.slice/berth.service
`;
