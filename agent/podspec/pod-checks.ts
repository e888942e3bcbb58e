// Rules that span several containers or reach from one part of the spec into another. They
// run on the decoded PodSpec; `paths` maps each container back to where it was written.
import { type FieldPath, duplicate, forbidden, invalid, notFound } from "./field-errors.js";
import type { ErrorSink } from "./field-reader.js";
import type { Container, LifecycleHandler, PodSpec, ProbeHandler } from "./types.js";

export function checkPod(pod: PodSpec, paths: ReadonlyMap<Container, FieldPath>, sink: ErrorSink): void {
  const pathOf = (c: Container): FieldPath | undefined => paths.get(c);
  checkContainerNames(pod, pathOf, sink);
  checkHostPorts(pod.containers, pathOf, sink);
  const allNames = new Set([...pod.initContainers, ...pod.containers].map((c) => c.name));
  for (const container of [...pod.initContainers, ...pod.containers]) {
    const path = pathOf(container);
    if (path === undefined) continue;
    checkNamedPorts(container, path, sink);
    checkResourceRefs(container, path, allNames, sink);
    checkNonRoot(pod, container, path, sink);
  }
}

/** Names are unique across init and app containers (an init container may not reuse an app name). */
function checkContainerNames(
  pod: PodSpec,
  pathOf: (c: Container) => FieldPath | undefined,
  sink: ErrorSink,
): void {
  const seen = new Set<string>();
  for (const container of [...pod.containers, ...pod.initContainers]) {
    if (container.name === "") continue;
    const path = pathOf(container);
    if (seen.has(container.name) && path !== undefined)
      sink.add(duplicate(path.child("name"), container.name));
    seen.add(container.name);
  }
}

/** Two containers of one pod cannot bind the same host port, address and protocol. */
function checkHostPorts(
  containers: readonly Container[],
  pathOf: (c: Container) => FieldPath | undefined,
  sink: ErrorSink,
): void {
  const seen = new Set<string>();
  for (const container of containers) {
    container.ports.forEach((port, i) => {
      if (port.hostPort === undefined) return;
      const key = `${port.hostIP ?? ""}/${port.protocol}/${port.hostPort}`;
      const path = pathOf(container);
      if (seen.has(key) && path !== undefined) {
        sink.add(duplicate(path.child("ports").index(i).child("hostPort"), key));
      }
      seen.add(key);
    });
  }
}

/**
 * A probe or hook that names a port must name one of the container's ports. Kubernetes only
 * finds out when the probe runs (and then fails it forever); berth says so up front.
 */
function checkNamedPorts(container: Container, path: FieldPath, sink: ErrorSink): void {
  const names = new Set(container.ports.flatMap((p) => (p.name === undefined ? [] : [p.name])));
  const check = (handler: ProbeHandler | LifecycleHandler | undefined, handlerPath: FieldPath): void => {
    if (handler === undefined || (handler.type !== "httpGet" && handler.type !== "tcpSocket")) return;
    if (typeof handler.port === "string" && !names.has(handler.port)) {
      sink.add(
        invalid(
          handlerPath.child(handler.type, "port"),
          handler.port,
          "does not name a port of this container",
        ),
      );
    }
  };
  for (const kind of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
    check(container[kind]?.handler, path.child(kind));
  }
  check(container.lifecycle?.postStart, path.child("lifecycle", "postStart"));
  check(container.lifecycle?.preStop, path.child("lifecycle", "preStop"));
}

function checkResourceRefs(
  container: Container,
  path: FieldPath,
  names: ReadonlySet<string>,
  sink: ErrorSink,
): void {
  container.env.forEach((env, i) => {
    if (!("valueFrom" in env) || env.valueFrom.type !== "resourceFieldRef") return;
    const name = env.valueFrom.containerName;
    if (name !== undefined && !names.has(name)) {
      sink.add(
        notFound(path.child("env").index(i).child("valueFrom", "resourceFieldRef", "containerName"), name),
      );
    }
  });
}

/**
 * runAsNonRoot with an explicit runAsUser of 0 can never start; the kubelet would refuse it at
 * container creation. A missing runAsUser is left for the runtime, which knows the image's user.
 */
function checkNonRoot(pod: PodSpec, container: Container, path: FieldPath, sink: ErrorSink): void {
  const nonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext.runAsNonRoot;
  const user = container.securityContext?.runAsUser ?? pod.securityContext.runAsUser;
  if (nonRoot === true && user === 0) {
    sink.add(
      forbidden(path.child("securityContext", "runAsUser"), "runAsUser 0 breaks the runAsNonRoot policy"),
    );
  }
}
