// The labels and annotations berth puts on the sandboxes and containers it creates. The
// io.kubernetes.* names are the kubelet's, so crictl, log shippers and dashboards that read
// them work unchanged; berth's own marker tells its objects apart from any other client's on a
// shared runtime, and carries what an orphan's clean-up needs after the spec is gone.
export const LABEL_POD_NAME = "io.kubernetes.pod.name";
export const LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
export const LABEL_POD_UID = "io.kubernetes.pod.uid";
export const LABEL_CONTAINER_NAME = "io.kubernetes.container.name";
/** Marks objects berth's kubelet layer created; others on the same runtime are never touched. */
export const LABEL_MANAGED = "io.berth.managed";
export const MANAGED_VALUE = "true";

export const ANNOTATION_CONTAINER_HASH = "io.kubernetes.container.hash";
export const ANNOTATION_RESTART_COUNT = "io.kubernetes.container.restartCount";
export const ANNOTATION_TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath";
export const ANNOTATION_TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy";
export const ANNOTATION_GRACE_PERIOD = "io.kubernetes.pod.terminationGracePeriod";
/** "init" or "app": an init container and an app container never share a name, but this keeps GC honest. */
export const ANNOTATION_CONTAINER_ROLE = "io.berth.container.role";
/** Hash of everything the sandbox is built from; a change means the sandbox is re-created. */
export const ANNOTATION_SANDBOX_HASH = "io.berth.sandbox.hash";
/** The pod cgroup berth made for the sandbox, removed with the pod even when its spec is gone. */
export const ANNOTATION_CGROUP_PARENT = "io.berth.pod.cgroupParent";

/** The label selector of every object belonging to one pod. */
export function podSelector(uid: string): Record<string, string> {
  return { [LABEL_MANAGED]: MANAGED_VALUE, [LABEL_POD_UID]: uid };
}

export const MANAGED_SELECTOR: Readonly<Record<string, string>> = { [LABEL_MANAGED]: MANAGED_VALUE };

export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export function podLabels(pod: PodIdentity): Record<string, string> {
  return {
    [LABEL_POD_NAME]: pod.name,
    [LABEL_POD_NAMESPACE]: pod.namespace,
    [LABEL_POD_UID]: pod.uid,
    [LABEL_MANAGED]: MANAGED_VALUE,
  };
}

/** The pod a runtime object belongs to, from its labels; undefined for objects berth did not label. */
export function podIdentityOf(labels: Readonly<Record<string, string>>): PodIdentity | undefined {
  if (labels[LABEL_MANAGED] !== MANAGED_VALUE) return undefined;
  const uid = labels[LABEL_POD_UID];
  if (!uid) return undefined;
  return { uid, name: labels[LABEL_POD_NAME] ?? "", namespace: labels[LABEL_POD_NAMESPACE] ?? "" };
}

/** `<name>_<namespace>(<uid>)`, the way the kubelet names a pod in messages. */
export function podFullName(pod: PodIdentity): string {
  return `${pod.name}_${pod.namespace}(${pod.uid})`;
}
