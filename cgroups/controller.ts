// The one shape every per-controller stats module has, v1 or v2: read the controller's
// files in one cgroup directory. undefined means the controller has no files there (not
// enabled for that cgroup, not mounted, or the root cgroup that lacks them).
export interface ControllerStatsReader<T> {
  /** Controller name as the kernel spells it ("cpu", "memory", "cpuacct", ...). */
  readonly name: string;
  read(dir: string): Promise<T | undefined>;
}
