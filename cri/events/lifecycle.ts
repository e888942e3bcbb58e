// What the container manager tells whoever follows its containers: each lifecycle change as
// it is recorded, and a question at each exit (was the main process OOM-killed?).
import type { ExitInfo } from "../runtime/exit-file.js";
import type { ContainerRecord } from "../runtime/records.js";

/**
 * created/started/stopped/deleted: the CRI lifecycle. recovered: the agent started again and
 * found the container still running (no CRI event; watchers are set up again).
 */
export type ContainerLifecycleChange = "created" | "started" | "stopped" | "deleted" | "recovered";

export interface ContainerLifecycleObserver {
  /** Called after the change is recorded (and saved); must not throw or block. */
  containerChanged(change: ContainerLifecycleChange, record: Readonly<ContainerRecord>): void;
  /**
   * Asked while an exit is being recorded: true when the main process died of an OOM kill,
   * false when the kills seen were of other processes, undefined when it cannot tell (the
   * caller then trusts conmon's `oom` file).
   */
  initOomKilled(record: Readonly<ContainerRecord>, exit: ExitInfo): Promise<boolean | undefined>;
}
