// cgroup v2 cpuset controller: which CPUs and memory nodes a cgroup may use. Values are
// kernel list syntax ("0-3,6"); only the syntax is checked here, the kernel checks the rest.
import { InvalidArgumentError } from "../../common/errors.js";
import { writeCgroupFile } from "../files.js";

const LIST_SYNTAX = /^(\d+(-\d+)?)(,\d+(-\d+)?)*$/;

export function validateCpusetList(field: string, list: string): void {
  if (!LIST_SYNTAX.test(list)) throw new InvalidArgumentError(field, `"${list}" is not a list like "0-3,6"`);
}

export async function writeCpusetCpus(dir: string, cpus: string): Promise<void> {
  validateCpusetList("cpusetCpus", cpus);
  await writeCgroupFile(dir, "cpuset.cpus", cpus);
}

export async function writeCpusetMems(dir: string, mems: string): Promise<void> {
  validateCpusetList("cpusetMems", mems);
  await writeCgroupFile(dir, "cpuset.mems", mems);
}
