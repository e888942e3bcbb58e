// The config file `berth install` writes when none exists: every field at its default,
// commented out ("#key: value"), under a note on what it does ("# ..."). The file as written
// changes nothing; an operator deletes the "#" of what they mean to change.
import { stringify as toYaml } from "yaml";
import { defaultConfig, type AgentConfig } from "../agent/config.js";

// Fields without a note are still written, with their default.
const FIELD_NOTES: Partial<Record<keyof AgentConfig, string>> = {
  socket: "gRPC socket serving CRI (runtime.v1) and berth.v1; root only.",
  stateDir: "Persistent state: sandbox, container and image records, layers, snapshots.",
  runDir: "Runtime state that dies with the host: runc state, netns binds, exit files.",
  cgroupRoot:
    "Parent cgroup of pods. A relative path nests under the agent's own cgroup; left at its\n" +
    "default under systemd with DelegateSubgroup= (systemd 254+), pods go to <unit cgroup>/pods.",
  logLevel: "trace, debug, info, warn or error. `systemctl reload berth` applies a change.",
  cni:
    "Pod networking with CNI plugins. Without a network config in confDir, a bridge network\n" +
    "(defaultBridge, defaultSubnet, masquerading when defaultIpMasq) is written there.",
  runcBinary: "OCI runtime.",
  conmonBinary: "Container monitor: holds each container's stdio and records its exit code.",
  http: "/healthz, /metrics and /stats/summary; loopback only by default (no authentication).",
  statsIntervalSeconds: "How often the stats collector reads every container's cgroup.",
  images:
    "Bounds of every pulled or imported image. maxLayers (overlayfs stacks at most 128 layers,\n" +
    "one of them the container's own) is checked from the manifest before any download. A layer\n" +
    "may inflate to maxCompressionRatio times its compressed size once past\n" +
    "compressionRatioFloorBytes; the image may not pass maxImageUncompressedBytes, nor the free\n" +
    "space of the image filesystem less reservedFreeBytes.",
  containerLogMaxSize:
    "Container log rotation, as the kubelet's: a running container's log that reaches this size\n" +
    "is renamed to <log>.<YYYYMMDD-HHMMSS> and reopened; older rotated files are gzipped.",
  containerLogMaxFiles: "Log files kept per container, the current one included (2 or more).",
  containerLogMonitorInterval: "How often container log sizes are checked (3s or more).",
};

/** Prose: "# " before each line. */
function commented(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => (line === "" ? "#" : `# ${line}`))
    .join("\n");
}

/** A setting: "#" right before the YAML, so deleting the "#" is all it takes to use it. */
function disabled(yaml: string): string {
  return yaml
    .trimEnd()
    .split("\n")
    .map((line) => `#${line}`)
    .join("\n");
}

export function renderDefaultConfig(defaults: AgentConfig = defaultConfig()): string {
  const sections = (Object.keys(defaults) as (keyof AgentConfig)[]).map((key) => {
    const note = FIELD_NOTES[key];
    const value = disabled(toYaml({ [key]: defaults[key] }));
    return note === undefined ? value : `${commented(note)}\n${value}`;
  });
  return (
    [
      commented(
        "berth agent configuration. Every field has a default, shown commented out below;\n" +
          "BERTH_* environment variables and `berth agent` flags override this file.",
      ),
      ...sections,
    ].join("\n\n") + "\n"
  );
}
