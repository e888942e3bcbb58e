// A whole Pod object: apiVersion/kind, metadata and spec, decoded into berth's PodSpec.
import { FieldPath, invalid, notSupported, required, tooLong } from "./field-errors.js";
import { type ErrorSink, INT32_MAX, ObjectReader } from "./field-reader.js";
import { readEnum, reportAll } from "./decode-common.js";
import { type ContainerRole, decodeContainer } from "./decode-container.js";
import { decodeDnsConfig } from "./decode-dns.js";
import { decodePodSecurityContext } from "./decode-security.js";
import { decodeVolumes } from "./decode-volumes.js";
import { checkPod } from "./pod-checks.js";
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  podUidErrors,
  qualifiedNameErrors,
} from "./names.js";
import {
  type Container,
  DEFAULT_NAMESPACE,
  DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  DNS_POLICIES,
  type PodMetadata,
  type PodSpec,
  RESTART_POLICIES,
} from "./types.js";

export interface DecodeOptions {
  /** Gives a uid to a pod whose manifest has none. */
  readonly generateUid: () => string;
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

// Fields the scheduler acts on. The node has already been chosen when a pod reaches berth,
// so they are accepted and have no effect here.
const SCHEDULING_FIELDS = [
  "affinity",
  "nodeSelector",
  "preemptionPolicy",
  "schedulerName",
  "schedulingGates",
  "tolerations",
  "topologySpreadConstraints",
];

const UNSUPPORTED_SPEC_FIELDS = [
  "ephemeralContainers",
  "hostAliases",
  "hostnameOverride",
  "imagePullSecrets",
  "overhead",
  "readinessGates",
  "resourceClaims",
  "resources",
  "runtimeClassName",
  "setHostnameAsFQDN",
  "shareProcessNamespace",
];

export function decodePod(value: unknown, sink: ErrorSink, options: DecodeOptions): PodSpec | undefined {
  const r = ObjectReader.of(value, FieldPath.root(), sink);
  if (r === undefined) return undefined;
  const apiVersion = r.requiredString("apiVersion");
  if (apiVersion !== undefined && apiVersion !== "v1")
    sink.add(notSupported(r.at("apiVersion"), apiVersion, ["v1"]));
  const kind = r.requiredString("kind");
  if (kind !== undefined && kind !== "Pod") sink.add(notSupported(r.at("kind"), kind, ["Pod"]));
  const metadata = decodeMetadata(r.raw("metadata") ?? {}, r.at("metadata"), sink, options);
  const rawSpec = r.raw("spec");
  if (rawSpec === undefined) sink.add(required(r.at("spec")));
  // status is written by whoever runs the pod, never read from a manifest.
  r.ignore("status");
  r.finish();
  if (rawSpec === undefined) return undefined;
  return decodeSpec(rawSpec, r.at("spec"), metadata, sink);
}

function decodeMetadata(
  value: unknown,
  path: FieldPath,
  sink: ErrorSink,
  options: DecodeOptions,
): PodMetadata {
  const r = ObjectReader.of(value, path, sink);
  // Broken metadata still yields a placeholder, so that the spec's errors are reported too.
  if (r === undefined)
    return { name: "", namespace: DEFAULT_NAMESPACE, uid: "", labels: {}, annotations: {} };
  const name = r.requiredString("name", "name or generateName is required");
  if (name !== undefined) reportAll(sink, r.at("name"), name, dns1123SubdomainErrors(name));
  const namespace = r.string("namespace") || DEFAULT_NAMESPACE;
  reportAll(sink, r.at("namespace"), namespace, dns1123LabelErrors(namespace));
  const uid = r.string("uid") || options.generateUid();
  reportAll(sink, r.at("uid"), uid, podUidErrors(uid));

  const labels = r.stringMap("labels");
  for (const [key, labelValue] of Object.entries(labels)) {
    reportAll(sink, r.at("labels"), key, qualifiedNameErrors(key));
    reportAll(sink, r.at("labels"), labelValue, labelValueErrors(labelValue));
  }
  const annotations = r.stringMap("annotations");
  let annotationBytes = 0;
  for (const [key, annotationValue] of Object.entries(annotations)) {
    reportAll(sink, r.at("annotations"), key, qualifiedNameErrors(key.toLowerCase()));
    annotationBytes += Buffer.byteLength(key) + Buffer.byteLength(annotationValue);
  }
  if (annotationBytes > TOTAL_ANNOTATION_SIZE_LIMIT)
    sink.add(tooLong(r.at("annotations"), TOTAL_ANNOTATION_SIZE_LIMIT));

  // Bookkeeping written by the API server; meaningless to berth and harmless to accept, so a
  // pod saved with `kubectl get -o yaml` still applies.
  r.ignore(
    "managedFields",
    "resourceVersion",
    "creationTimestamp",
    "generation",
    "ownerReferences",
    "finalizers",
    "selfLink",
  );
  r.unsupported(["generateName", "deletionTimestamp", "deletionGracePeriodSeconds"]);
  r.finish();
  return { name: name ?? "", namespace, uid, labels, annotations };
}

function decodeSpec(
  value: unknown,
  path: FieldPath,
  metadata: PodMetadata,
  sink: ErrorSink,
): PodSpec | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const hostNetwork = r.bool("hostNetwork") ?? false;
  const terminationGracePeriodSeconds =
    r.int("terminationGracePeriodSeconds", { min: 0 }) ?? DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  const activeDeadlineSeconds = r.int("activeDeadlineSeconds");
  if (
    activeDeadlineSeconds !== undefined &&
    (activeDeadlineSeconds < 1 || activeDeadlineSeconds > INT32_MAX)
  ) {
    sink.add(
      invalid(
        r.at("activeDeadlineSeconds"),
        activeDeadlineSeconds,
        `must be between 1 and ${INT32_MAX}, inclusive`,
      ),
    );
  }
  const volumes = decodeVolumes(r);
  const volumeNames = new Set(volumes.map((v) => v.name));
  const containerPaths = new Map<Container, FieldPath>();
  const decodeContainers = (role: ContainerRole): Container[] =>
    r.list(role, (item, itemPath) => {
      const container = decodeContainer(item, itemPath, {
        sink,
        role,
        hostNetwork,
        gracePeriodSeconds: terminationGracePeriodSeconds,
        volumeNames,
      });
      if (container !== undefined) containerPaths.set(container, itemPath);
      return container;
    });
  const containersWritten = r.raw("containers");
  if (
    containersWritten === undefined ||
    (Array.isArray(containersWritten) && containersWritten.length === 0)
  ) {
    sink.add(required(r.at("containers")));
  }
  const initContainers = decodeContainers("initContainers");
  const containers = decodeContainers("containers");

  const dnsPolicy = readEnum(r, "dnsPolicy", DNS_POLICIES, "ClusterFirst");
  const dnsConfig = r.has("dnsConfig")
    ? decodeDnsConfig(r.raw("dnsConfig"), r.at("dnsConfig"), sink)
    : undefined;
  if (dnsPolicy === "None") {
    if (dnsConfig === undefined && !r.has("dnsConfig")) {
      sink.add(required(r.at("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"));
    } else if (dnsConfig !== undefined && dnsConfig.nameservers.length === 0) {
      sink.add(
        required(
          r.at("dnsConfig", "nameservers"),
          "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ),
      );
    }
  }

  const label = (key: string): string | undefined => checkedName(r, key, dns1123LabelErrors);
  const subdomain = (key: string): string | undefined => checkedName(r, key, dns1123SubdomainErrors);
  // serviceAccount is the deprecated spelling of serviceAccountName; the new one wins.
  const serviceAccountName = subdomain("serviceAccountName");
  const deprecatedServiceAccount = subdomain("serviceAccount");
  const spec: PodSpec = {
    metadata,
    initContainers,
    containers,
    volumes,
    restartPolicy: readEnum(r, "restartPolicy", RESTART_POLICIES, "Always"),
    terminationGracePeriodSeconds,
    ...(activeDeadlineSeconds !== undefined && { activeDeadlineSeconds }),
    hostNetwork,
    hostPID: r.bool("hostPID") ?? false,
    hostIPC: r.bool("hostIPC") ?? false,
    ...optional("hostname", label("hostname")),
    ...optional("subdomain", label("subdomain")),
    dnsPolicy,
    ...(dnsConfig !== undefined && { dnsConfig }),
    securityContext: r.has("securityContext")
      ? decodePodSecurityContext(r.raw("securityContext"), r.at("securityContext"), hostNetwork, sink)
      : { supplementalGroups: [], sysctls: [] },
    ...optional("nodeName", subdomain("nodeName")),
    ...optional("serviceAccountName", serviceAccountName ?? deprecatedServiceAccount),
    ...optional("priority", r.int("priority", { int32: true })),
    ...optional("priorityClassName", subdomain("priorityClassName")),
  };

  decodeOs(r);
  if (r.bool("hostUsers") === false) {
    sink.add(notSupported(r.at("hostUsers"), false, ["true"]));
  }
  r.ignore(...SCHEDULING_FIELDS);
  // berth mounts no service account token and has no Services to link, which is what a
  // static pod gets from a kubelet as well; both switches are therefore accepted as no-ops.
  r.ignore("automountServiceAccountToken", "enableServiceLinks");
  r.unsupported(UNSUPPORTED_SPEC_FIELDS);
  r.finish();

  checkPod(spec, containerPaths, sink);
  return spec;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, V>>);
}

function checkedName(r: ObjectReader, key: string, check: (value: string) => string[]): string | undefined {
  const value = r.string(key) || undefined;
  if (value === undefined) return undefined;
  const errors = check(value);
  reportAll(r.sink, r.at(key), value, errors);
  return errors.length === 0 ? value : undefined;
}

/** spec.os says which OS the pod needs; berth runs Linux containers only. */
function decodeOs(r: ObjectReader): void {
  const os = r.object("os");
  if (os === undefined) return;
  const name = os.requiredString("name");
  if (name !== undefined && name !== "linux") r.sink.add(notSupported(os.at("name"), name, ["linux"]));
  os.finish();
}
