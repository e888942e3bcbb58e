// `berth describe POD`: the pod in the layout of `kubectl describe pod` (same sections,
// labels, probe wording and column alignment), so that people who read kubectl output
// read berth's without a second look.
import type { PodEvent } from "../api/generated/berth.js";
import type { Jsonified, PodJson } from "../node-api/pod-json.js";
import type { ContainerStateView, ContainerStatusView } from "../pods/pod-manager-api.js";
import type { Container, Probe, ResourceList, Volume } from "../podspec/types.js";
import { humanDuration } from "./pod-columns.js";
import { alignTabs } from "./tab-writer.js";

export interface DescribeOptions {
  /** Milliseconds since the epoch, for ages. */
  now: number;
  /** The node the agent runs on, shown when the spec names none. */
  nodeName?: string;
  /** Print times in UTC instead of the local time zone (tests). */
  utc?: boolean;
}

type ContainerJson = Jsonified<Container>;

/** Indentation levels, two spaces each, as kubectl's describe writer uses. */
const indent = (level: number): string => "  ".repeat(level);

class DescribeWriter {
  private text = "";

  line(level: number, content: string): void {
    this.text += `${indent(level)}${content}\n`;
  }

  toString(): string {
    return alignTabs(this.text);
  }
}

export function describePod(pod: PodJson, events: readonly PodEvent[], options: DescribeOptions): string {
  const w = new DescribeWriter();
  const time = (iso: string | undefined): string => formatTime(iso, options.utc ?? false);
  const { metadata, spec, status } = pod;

  w.line(0, `Name:\t${metadata.name}`);
  w.line(0, `Namespace:\t${metadata.namespace}`);
  if (spec.priority !== undefined) w.line(0, `Priority:\t${spec.priority}`);
  if (spec.priorityClassName) w.line(0, `Priority Class Name:\t${spec.priorityClassName}`);
  if (spec.serviceAccountName) w.line(0, `Service Account:\t${spec.serviceAccountName}`);
  const node = spec.nodeName || options.nodeName;
  w.line(0, `Node:\t${node ? `${node}${status.hostIP ? `/${status.hostIP}` : ""}` : "<none>"}`);
  if (status.startTime) w.line(0, `Start Time:\t${time(status.startTime)}`);
  keyValueLines(w, "Labels", metadata.labels, "=");
  keyValueLines(w, "Annotations", metadata.annotations, ": ");
  if (pod.terminating && status.phase !== "Failed" && status.phase !== "Succeeded") {
    w.line(0, "Status:\tTerminating");
    w.line(0, `Termination Grace Period:\t${spec.terminationGracePeriodSeconds}s`);
  } else {
    w.line(0, `Status:\t${status.phase}`);
  }
  if (status.reason) w.line(0, `Reason:\t${status.reason}`);
  if (status.message) w.line(0, `Message:\t${status.message}`);
  w.line(0, `IP:\t${status.podIP ?? ""}`);
  if (status.podIPs.length === 0) {
    w.line(0, "IPs:\t<none>");
  } else {
    w.line(0, "IPs:");
    for (const { ip } of status.podIPs) w.line(1, `IP:\t${ip}`);
  }
  if (pod.source.kind === "file") w.line(0, `Source:\tfile ${pod.source.path}`);
  if (spec.initContainers.length > 0)
    describeContainers(w, "Init Containers", spec.initContainers, status.initContainerStatuses, pod, time);
  describeContainers(w, "Containers", spec.containers, status.containerStatuses, pod, time);
  if (status.conditions.length > 0) {
    w.line(0, "Conditions:");
    w.line(1, "Type\tStatus");
    for (const c of status.conditions) w.line(1, `${c.type} \t${c.status} `);
  }
  describeVolumes(w, spec.volumes);
  w.line(0, `QoS Class:\t${status.qosClass}`);
  describeEvents(w, events, options.now);
  return w.toString();
}

function keyValueLines(
  w: DescribeWriter,
  title: string,
  values: Readonly<Record<string, string>>,
  separator: string,
): void {
  const keys = Object.keys(values).sort();
  if (keys.length === 0) return w.line(0, `${title}:\t<none>`);
  keys.forEach((key, i) => w.line(0, `${i === 0 ? `${title}:` : ""}\t${key}${separator}${values[key]}`));
}

function describeContainers(
  w: DescribeWriter,
  title: string,
  containers: readonly ContainerJson[],
  statuses: readonly ContainerStatusView[],
  pod: PodJson,
  time: (iso: string | undefined) => string,
): void {
  w.line(0, `${title}:`);
  for (const c of containers) {
    const status = statuses.find((s) => s.name === c.name);
    w.line(1, `${c.name}:`);
    if (status !== undefined) w.line(2, `Container ID:\t${status.containerID ?? ""}`);
    w.line(2, `Image:\t${c.image}`);
    if (status !== undefined) w.line(2, `Image ID:\t${status.imageID}`);
    const ports = c.ports.map((p) => `${p.containerPort}/${p.protocol}`).join(", ");
    const hostPorts = c.ports.map((p) => `${p.hostPort ?? 0}/${p.protocol}`).join(", ");
    w.line(2, `${c.ports.length > 1 ? "Ports" : "Port"}:\t${ports || "<none>"}`);
    w.line(2, `${c.ports.length > 1 ? "Host Ports" : "Host Port"}:\t${hostPorts || "<none>"}`);
    listLines(w, "Command", c.command);
    listLines(w, "Args", c.args);
    if (status !== undefined) {
      describeState(w, "State", status.state, time);
      const last = status.lastState as Partial<Extract<ContainerStateView, { terminated: unknown }>>;
      if (last.terminated !== undefined)
        describeState(w, "Last State", { terminated: last.terminated }, time);
      w.line(2, `Ready:\t${status.ready ? "True" : "False"}`);
      w.line(2, `Restart Count:\t${status.restartCount}`);
    }
    resourceLines(w, "Limits", c.resources.limits);
    resourceLines(w, "Requests", c.resources.requests);
    if (c.livenessProbe) w.line(2, `Liveness:\t${describeProbe(c.livenessProbe)}`);
    if (c.readinessProbe) w.line(2, `Readiness:\t${describeProbe(c.readinessProbe)}`);
    if (c.startupProbe) w.line(2, `Startup:\t${describeProbe(c.startupProbe)}`);
    environmentLines(w, c, pod);
    if (c.volumeMounts.length === 0) {
      w.line(2, "Mounts:\t<none>");
    } else {
      w.line(2, "Mounts:");
      const mounts = [...c.volumeMounts].sort((a, b) => (a.mountPath < b.mountPath ? -1 : 1));
      for (const m of mounts) {
        const flags = [m.readOnly ? "ro" : "rw", ...(m.subPath ? [`path=${JSON.stringify(m.subPath)}`] : [])];
        w.line(3, `${m.mountPath} from ${m.name} (${flags.join(",")})`);
      }
    }
  }
}

function listLines(w: DescribeWriter, title: string, items: readonly string[]): void {
  if (items.length === 0) return;
  w.line(2, `${title}:`);
  for (const item of items) for (const part of item.split("\n")) w.line(3, part);
}

function describeState(
  w: DescribeWriter,
  title: string,
  state: ContainerStateView,
  time: (iso: string | undefined) => string,
): void {
  if ("running" in state) {
    w.line(2, `${title}:\tRunning`);
    w.line(3, `Started:\t${time(state.running.startedAt)}`);
  } else if ("waiting" in state) {
    w.line(2, `${title}:\tWaiting`);
    if (state.waiting.reason) w.line(3, `Reason:\t${state.waiting.reason}`);
    if (state.waiting.message) w.line(3, `Message:\t${state.waiting.message}`);
  } else {
    const t = state.terminated;
    w.line(2, `${title}:\tTerminated`);
    if (t.reason) w.line(3, `Reason:\t${t.reason}`);
    if (t.message) w.line(3, `Message:\t${t.message}`);
    w.line(3, `Exit Code:\t${t.exitCode}`);
    if (t.signal !== undefined && t.signal > 0) w.line(3, `Signal:\t${t.signal}`);
    w.line(3, `Started:\t${time(t.startedAt)}`);
    w.line(3, `Finished:\t${time(t.finishedAt)}`);
  }
}

const RESOURCE_NAMES: readonly [keyof ResourceList, string][] = [
  ["cpu", "cpu"],
  ["ephemeralStorage", "ephemeral-storage"],
  ["memory", "memory"],
];

function resourceLines(w: DescribeWriter, title: string, list: Jsonified<ResourceList>): void {
  const present = RESOURCE_NAMES.filter(([key]) => list[key] !== undefined);
  if (present.length === 0) return;
  w.line(2, `${title}:`);
  for (const [key, name] of present) w.line(3, `${name}:\t${list[key]}`);
}

/** kubectl's probe line: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
export function describeProbe(probe: Probe | Jsonified<Probe>): string {
  const attrs =
    `delay=${probe.initialDelaySeconds}s timeout=${probe.timeoutSeconds}s period=${probe.periodSeconds}s ` +
    `#success=${probe.successThreshold} #failure=${probe.failureThreshold}`;
  const h = probe.handler;
  switch (h.type) {
    case "exec":
      return `exec [${h.command.join(" ")}] ${attrs}`;
    case "httpGet": {
      const path = h.path.startsWith("/") || h.path === "" ? h.path : `/${h.path}`;
      return `http-get ${h.scheme.toLowerCase()}://${joinHostPort(h.host ?? "", String(h.port))}${path} ${attrs}`;
    }
    case "tcpSocket":
      return `tcp-socket ${h.host ?? ""}:${h.port} ${attrs}`;
    case "grpc":
      return `grpc <pod>:${h.port} ${h.service ?? ""} ${attrs}`;
  }
}

function joinHostPort(host: string, port: string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Values the downward API gives, resolved from the pod where describe can (as kubectl does). */
function fieldRefValue(field: string, pod: PodJson): string {
  switch (field) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.podIP":
      return pod.status.podIP ?? "";
    case "status.hostIP":
      return pod.status.hostIP ?? "";
    default:
      return "";
  }
}

function environmentLines(w: DescribeWriter, c: ContainerJson, pod: PodJson): void {
  if (c.env.length === 0) return w.line(2, "Environment:\t<none>");
  w.line(2, "Environment:");
  for (const e of c.env) {
    if ("value" in e) {
      e.value.split("\n").forEach((part, i) => w.line(3, i === 0 ? `${e.name}:\t${part}` : `\t${part}`));
    } else if (e.valueFrom.type === "fieldRef") {
      w.line(3, `${e.name}:\t${fieldRefValue(e.valueFrom.field, pod)} (v1:${e.valueFrom.fieldPath})`);
    } else {
      w.line(3, `${e.name}:\t (${e.valueFrom.resource})`);
    }
  }
}

function describeVolumes(w: DescribeWriter, volumes: readonly Jsonified<Volume>[]): void {
  if (volumes.length === 0) return w.line(0, "Volumes:\t<none>");
  w.line(0, "Volumes:");
  for (const v of volumes) {
    w.line(1, `${v.name}:`);
    const s = v.source;
    if (s.type === "emptyDir") {
      w.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)");
      w.line(2, `Medium:\t${s.medium}`);
      w.line(2, `SizeLimit:\t${s.sizeLimit ?? "<unset>"}`);
    } else {
      w.line(2, "Type:\tHostPath (bare host directory volume)");
      w.line(2, `Path:\t${s.path}`);
      w.line(2, `HostPathType:\t${s.hostPathType || "<none>"}`);
    }
  }
}

function describeEvents(w: DescribeWriter, events: readonly PodEvent[], now: number): void {
  if (events.length === 0) return w.line(0, "Events:\t<none>");
  w.line(0, "Events:");
  w.line(1, "Type\tReason\tAge\tFrom\tMessage");
  w.line(1, "----\t------\t----\t----\t-------");
  for (const e of events) {
    w.line(1, `${e.type}\t${e.reason}\t${eventAge(e, now)}\tberth\t${e.message.trim()}`);
  }
}

/** "12s", or "12s (x3)" for an event seen three times (the last time it was seen). */
export function eventAge(e: Pick<PodEvent, "time" | "count">, now: number): string {
  const at = Date.parse(e.time);
  const age = Number.isNaN(at) ? "<unknown>" : humanDuration(now - at);
  return e.count > 1 ? `${age} (x${e.count})` : age;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 1123 with a numeric zone, as kubectl prints times: "Mon, 02 Jan 2006 15:04:05 -0700". */
export function formatTime(iso: string | undefined, utc: boolean): string {
  const ms = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(ms)) return iso ?? "";
  const offsetMinutes = utc ? 0 : -new Date(ms).getTimezoneOffset();
  // Shifting by the offset and reading UTC fields gives the local wall clock.
  const d = new Date(ms + offsetMinutes * 60_000);
  const two = (n: number): string => String(n).padStart(2, "0");
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return (
    `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ` +
    `${sign}${two(Math.trunc(abs / 60))}${two(abs % 60)}`
  );
}
