// Where pods' cgroups go when the agent runs as a systemd service with Delegate=yes on
// cgroup v2, and whether the agent must first leave the cgroup it was started in.
//
// cgroup v2 forbids processes in a cgroup that hands controllers to its children, except at
// the root. Pods need memory/cpu/io/pids from their parent, so the agent cannot share a
// cgroup with the parent of the pods. And systemd puts a (re)started main process into the
// unit's cgroup itself, where it fails with EBUSY (status 219/CGROUP) once that cgroup hands
// controllers to pods that outlived the previous agent (KillMode=process). So:
//
// - systemd 254+ with DelegateSubgroup=agent starts the agent in <unit>/agent already; the
//   unit cgroup itself stays empty and pods go beside the agent, in <unit>/pods.
// - Older systemd starts the agent in <unit> itself. Pods then stay at the configured root
//   (by default a top-level cgroup, outside the unit), which keeps `systemctl restart berth`
//   working while containers run. Only a relative cgroupRoot, which asks for pods inside the
//   agent's cgroup, makes the agent move to the leaf <unit>/agent; that restarts only once
//   the pods are gone, and the agent says so.
import { posix } from "node:path";
import type { CgroupLayout } from "../cgroups/detect.js";
import type { Logger } from "../common/logger.js";
import { AGENT_SUBGROUP } from "./unit.js";

export const PODS_SUBGROUP = "pods";

export type DelegationKind =
  /** Not a systemd service on a pure cgroup v2 host: the configured root as it is. */
  | "none"
  /** Started by systemd in <unit>/agent (DelegateSubgroup=): pods in <unit>/pods. */
  | "subgroup"
  /** Started by systemd in the delegated unit cgroup itself. */
  | "unit";

export interface DelegationPlan {
  readonly kind: DelegationKind;
  /** The delegated unit cgroup, when there is one. */
  readonly unitCgroup?: string;
  /** Absolute parent cgroup for pods (relative only when kind is "none"). */
  readonly cgroupRoot: string;
  /** The leaf to move the agent into before any pod cgroup exists, when it must move. */
  readonly moveTo?: string;
  /** Why, for the log. */
  readonly reason: string;
  /** The plan leaves a known problem behind (logged as a warning). */
  readonly warning?: string;
}

export interface DelegationInput {
  readonly layout: CgroupLayout;
  /** The agent's environment: systemd sets INVOCATION_ID for every unit it starts. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** cgroupRoot from the config. */
  readonly cgroupRoot: string;
  /** cgroupRoot's default, to tell "left at its default" from a chosen value. */
  readonly defaultCgroupRoot: string;
}

const SERVICE_CGROUP = /\.service$/;

function join(...parts: string[]): string {
  return posix.join("/", ...parts);
}

export function planDelegation(input: DelegationInput): DelegationPlan {
  const { layout, env, cgroupRoot, defaultCgroupRoot } = input;
  const keep = (reason: string): DelegationPlan => ({ kind: "none", cgroupRoot, reason });
  if (layout.mode !== "unified") return keep(`cgroup ${layout.mode} host: no delegation`);
  if (!env.INVOCATION_ID) return keep("not started by systemd");
  const own = layout.ownV2 === undefined ? undefined : posix.normalize(layout.ownV2);
  if (own === undefined || own === "/") return keep("the agent runs in the root cgroup");

  const relative = !cgroupRoot.startsWith("/");
  const isDefault = cgroupRoot === defaultCgroupRoot;

  if (posix.basename(own) === AGENT_SUBGROUP && SERVICE_CGROUP.test(posix.dirname(own))) {
    const unit = posix.dirname(own);
    if (isDefault) {
      return {
        kind: "subgroup",
        unitCgroup: unit,
        cgroupRoot: join(unit, PODS_SUBGROUP),
        reason: "started in the delegated subgroup; pods beside the agent",
      };
    }
    return {
      kind: "subgroup",
      unitCgroup: unit,
      cgroupRoot: relative ? join(unit, cgroupRoot) : cgroupRoot,
      reason: relative ? "relative cgroupRoot nests under the unit cgroup" : "cgroupRoot set explicitly",
    };
  }

  if (!SERVICE_CGROUP.test(own)) return keep(`own cgroup ${own} is not a service's`);
  if (!relative) {
    return {
      kind: "unit",
      unitCgroup: own,
      cgroupRoot,
      reason: isDefault
        ? "started in the unit cgroup (no DelegateSubgroup=): pods stay outside it so restarts keep working"
        : "cgroupRoot set explicitly",
    };
  }
  // Resolved against the unit cgroup before the move: afterwards the agent's own cgroup is the
  // leaf, and a relative root would land below it.
  return {
    kind: "unit",
    unitCgroup: own,
    cgroupRoot: join(own, cgroupRoot),
    moveTo: join(own, AGENT_SUBGROUP),
    reason: "relative cgroupRoot nests pods under the unit cgroup: the agent moves to a leaf",
    warning:
      "systemd puts a restarted agent back into the unit cgroup, which cgroup v2 refuses while " +
      "pods run below it: restarts fail until the pods are gone. Use DelegateSubgroup=agent " +
      "(systemd 254+) or an absolute cgroupRoot.",
  };
}

/** The one operation applyDelegation needs from the cgroup manager. */
export interface LeafMover {
  moveSelfToLeaf(path: string, pid?: number): Promise<unknown>;
}

/**
 * Plans, then moves the agent when the plan says so, before any pod cgroup is created.
 * Returns the cgroupRoot the runtime must use.
 */
export async function applyDelegation(
  input: DelegationInput & { readonly cgroups: LeafMover; readonly logger: Logger; readonly pid?: number },
): Promise<DelegationPlan> {
  const plan = planDelegation(input);
  if (plan.moveTo !== undefined) await input.cgroups.moveSelfToLeaf(plan.moveTo, input.pid);
  const fields = { kind: plan.kind, unitCgroup: plan.unitCgroup, cgroupRoot: plan.cgroupRoot };
  if (plan.warning !== undefined) input.logger.warn({ ...fields, reason: plan.reason }, plan.warning);
  else input.logger.info({ ...fields, reason: plan.reason }, "pod cgroup root chosen");
  return plan;
}
