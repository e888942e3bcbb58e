// One container (app or init) of a pod spec.
import { type FieldPath, duplicate, forbidden, invalid, notFound, required } from "./field-errors.js";
import { type ErrorSink, ObjectReader } from "./field-reader.js";
import { isAbsolutePath, readEnum, readOptionalEnum, reportAll } from "./decode-common.js";
import { decodeEnvVar } from "./decode-env.js";
import { decodeLifecycle, decodeProbe, type ProbeKind } from "./decode-probe.js";
import { decodeResources } from "./decode-resources.js";
import { decodeContainerSecurityContext } from "./decode-security.js";
import {
  dns1123LabelErrors,
  ipAddressErrors,
  localDescendingPathErrors,
  portNameErrors,
  portNumberErrors,
} from "./names.js";
import {
  type Container,
  type ContainerPort,
  DEFAULT_TERMINATION_MESSAGE_PATH,
  IMAGE_PULL_POLICIES,
  type ImagePullPolicy,
  MOUNT_PROPAGATIONS,
  PROTOCOLS,
  TERMINATION_MESSAGE_POLICIES,
  type VolumeMount,
} from "./types.js";

export type ContainerRole = "containers" | "initContainers";

export interface ContainerContext {
  readonly sink: ErrorSink;
  readonly role: ContainerRole;
  readonly hostNetwork: boolean;
  readonly gracePeriodSeconds: number;
  readonly volumeNames: ReadonlySet<string>;
}

const PROBE_KINDS: readonly ProbeKind[] = ["livenessProbe", "readinessProbe", "startupProbe"];

const UNSUPPORTED_FIELDS = [
  "envFrom",
  "resizePolicy",
  "restartPolicy",
  "restartPolicyRules",
  "volumeDevices",
];

/**
 * Kubernetes' default pull policy: Always for `:latest` or an image with neither tag nor
 * digest (which means latest), IfNotPresent otherwise.
 */
export function defaultImagePullPolicy(image: string): ImagePullPolicy {
  const at = image.indexOf("@");
  const hasDigest = at >= 0;
  const name = hasDigest ? image.slice(0, at) : image;
  // A colon before the last slash belongs to a registry host:port, not to a tag.
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : "";
  if (tag === "latest" || (tag === "" && !hasDigest)) return "Always";
  return "IfNotPresent";
}

export function decodeContainer(
  value: unknown,
  path: FieldPath,
  ctx: ContainerContext,
): Container | undefined {
  const { sink } = ctx;
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;

  const name = r.requiredString("name");
  if (name !== undefined) reportAll(sink, r.at("name"), name, dns1123LabelErrors(name));
  const image = r.requiredString("image");
  if (image !== undefined && image.trim() !== image) {
    sink.add(invalid(r.at("image"), image, "must not have leading or trailing whitespace"));
  }
  const imagePullPolicy = readEnum(
    r,
    "imagePullPolicy",
    IMAGE_PULL_POLICIES,
    defaultImagePullPolicy(image ?? ""),
  );
  const workingDir = r.string("workingDir") || undefined;
  if (workingDir !== undefined && !isAbsolutePath(workingDir)) {
    sink.add(invalid(r.at("workingDir"), workingDir, "must be an absolute path"));
  }
  const securityContext = r.has("securityContext")
    ? decodeContainerSecurityContext(r.raw("securityContext"), r.at("securityContext"), sink)
    : undefined;

  const probes: Partial<Record<ProbeKind, Container["livenessProbe"]>> = {};
  for (const kind of PROBE_KINDS) {
    if (!r.has(kind)) {
      r.ignore(kind);
      continue;
    }
    if (ctx.role === "initContainers") {
      r.ignore(kind);
      sink.add(forbidden(r.at(kind), "may not be set for init containers without restartPolicy=Always"));
      continue;
    }
    probes[kind] = decodeProbe(r.raw(kind), r.at(kind), kind, sink);
  }
  let lifecycle: Container["lifecycle"];
  if (r.has("lifecycle") && ctx.role === "initContainers") {
    r.ignore("lifecycle");
    sink.add(forbidden(r.at("lifecycle"), "may not be set for init containers without restartPolicy=Always"));
  } else if (r.has("lifecycle")) {
    lifecycle = decodeLifecycle(r.raw("lifecycle"), r.at("lifecycle"), ctx.gracePeriodSeconds, sink);
  }

  const terminationMessagePath = r.string("terminationMessagePath") || DEFAULT_TERMINATION_MESSAGE_PATH;
  if (!isAbsolutePath(terminationMessagePath)) {
    sink.add(invalid(r.at("terminationMessagePath"), terminationMessagePath, "must be an absolute path"));
  }

  const container: Container = {
    name: name ?? "",
    image: image ?? "",
    imagePullPolicy,
    command: r.stringList("command"),
    args: r.stringList("args"),
    ...(workingDir !== undefined && { workingDir }),
    ports: decodePorts(r, ctx),
    env: r.list("env", (item, itemPath) => decodeEnvVar(item, itemPath, sink)),
    resources: r.has("resources")
      ? decodeResources(r.raw("resources"), r.at("resources"), sink)
      : { requests: {}, limits: {} },
    volumeMounts: decodeVolumeMounts(r, ctx, securityContext?.privileged === true),
    ...(probes.livenessProbe && { livenessProbe: probes.livenessProbe }),
    ...(probes.readinessProbe && { readinessProbe: probes.readinessProbe }),
    ...(probes.startupProbe && { startupProbe: probes.startupProbe }),
    ...(lifecycle && { lifecycle }),
    terminationMessagePath,
    terminationMessagePolicy: readEnum(r, "terminationMessagePolicy", TERMINATION_MESSAGE_POLICIES, "File"),
    ...(securityContext && { securityContext }),
    stdin: r.bool("stdin") ?? false,
    stdinOnce: r.bool("stdinOnce") ?? false,
    tty: r.bool("tty") ?? false,
  };
  r.unsupported(UNSUPPORTED_FIELDS);
  r.finish();
  return container;
}

function decodePorts(r: ObjectReader, ctx: ContainerContext): ContainerPort[] {
  const { sink } = ctx;
  const names = new Set<string>();
  return r.list("ports", (item, path) => {
    const pr = ObjectReader.of(item, path, sink);
    if (pr === undefined) return undefined;
    const name = pr.string("name") || undefined;
    if (name !== undefined) {
      const errors = portNameErrors(name);
      reportAll(sink, pr.at("name"), name, errors);
      if (errors.length === 0 && names.has(name)) sink.add(duplicate(pr.at("name"), name));
      names.add(name);
    }
    const containerPort = pr.int("containerPort", { int32: true });
    if (containerPort === undefined || containerPort === 0) {
      if (!pr.has("containerPort") || containerPort === 0) sink.add(required(pr.at("containerPort")));
    } else {
      reportAll(sink, pr.at("containerPort"), containerPort, portNumberErrors(containerPort));
    }
    const writtenHostPort = pr.int("hostPort", { int32: true }) || undefined;
    if (writtenHostPort !== undefined) {
      reportAll(sink, pr.at("hostPort"), writtenHostPort, portNumberErrors(writtenHostPort));
    }
    // On the host network the container's port is the host's port: Kubernetes defaults
    // hostPort to containerPort there and refuses any other value.
    let hostPort = writtenHostPort;
    if (ctx.hostNetwork && containerPort !== undefined) {
      if (hostPort === undefined) hostPort = containerPort;
      else if (hostPort !== containerPort) {
        sink.add(
          invalid(pr.at("containerPort"), containerPort, "must match `hostPort` when `hostNetwork` is true"),
        );
      }
    }
    const protocol = readEnum(pr, "protocol", PROTOCOLS, "TCP");
    const hostIP = pr.string("hostIP") || undefined;
    if (hostIP !== undefined) reportAll(sink, pr.at("hostIP"), hostIP, ipAddressErrors(hostIP));
    pr.finish();
    return {
      ...(name !== undefined && { name }),
      containerPort: containerPort ?? 0,
      ...(hostPort !== undefined && { hostPort }),
      protocol,
      ...(hostIP !== undefined && { hostIP }),
    };
  });
}

function decodeVolumeMounts(r: ObjectReader, ctx: ContainerContext, privileged: boolean): VolumeMount[] {
  const { sink } = ctx;
  const mountPaths = new Set<string>();
  return r.list("volumeMounts", (item, path) => {
    const mr = ObjectReader.of(item, path, sink);
    if (mr === undefined) return undefined;
    const name = mr.requiredString("name");
    if (name !== undefined && !ctx.volumeNames.has(name)) sink.add(notFound(mr.at("name"), name));
    const mountPath = mr.requiredString("mountPath");
    if (mountPath !== undefined) {
      if (!isAbsolutePath(mountPath))
        sink.add(invalid(mr.at("mountPath"), mountPath, "must be an absolute path"));
      if (mountPaths.has(mountPath)) sink.add(invalid(mr.at("mountPath"), mountPath, "must be unique"));
      mountPaths.add(mountPath);
    }
    const subPath = mr.string("subPath") || undefined;
    if (subPath !== undefined) reportAll(sink, mr.at("subPath"), subPath, localDescendingPathErrors(subPath));
    const mountPropagation = readOptionalEnum(mr, "mountPropagation", MOUNT_PROPAGATIONS);
    if (mountPropagation === "Bidirectional" && !privileged) {
      sink.add(
        forbidden(
          mr.at("mountPropagation"),
          "Bidirectional mount propagation is available only to privileged containers",
        ),
      );
    }
    const readOnly = mr.bool("readOnly") ?? false;
    mr.unsupported(["subPathExpr", "recursiveReadOnly"]);
    mr.finish();
    if (name === undefined || mountPath === undefined) return undefined;
    return {
      name,
      mountPath,
      readOnly,
      ...(subPath !== undefined && { subPath }),
      ...(mountPropagation !== undefined && { mountPropagation }),
    };
  });
}
