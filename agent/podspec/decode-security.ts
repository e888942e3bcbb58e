// Pod and container security contexts. SELinux, AppArmor, Windows options and user
// namespaces are refused: berth does not implement them and will not pretend to.
import { type FieldPath, duplicate, invalid, required } from "./field-errors.js";
import { type ErrorSink, ObjectReader, checkInt } from "./field-reader.js";
import { compact, readOptionalEnum, reportAll } from "./decode-common.js";
import { linuxIdErrors, localDescendingPathErrors, sysctlNameErrors } from "./names.js";
import {
  type Capabilities,
  type ContainerSecurityContext,
  PROC_MOUNTS,
  type PodSecurityContext,
  SECCOMP_PROFILE_TYPES,
  type SeccompProfile,
  type Sysctl,
} from "./types.js";

const UNSUPPORTED_CONTAINER_FIELDS = ["seLinuxOptions", "windowsOptions", "appArmorProfile"];
const UNSUPPORTED_POD_FIELDS = [
  "seLinuxOptions",
  "windowsOptions",
  "appArmorProfile",
  "fsGroupChangePolicy",
  "supplementalGroupsPolicy",
  "seLinuxChangePolicy",
];

/** Linux capability names (without the CAP_ prefix) that runc understands, plus ALL. */
const CAPABILITIES = new Set([
  "ALL",
  "AUDIT_CONTROL",
  "AUDIT_READ",
  "AUDIT_WRITE",
  "BLOCK_SUSPEND",
  "BPF",
  "CHECKPOINT_RESTORE",
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "IPC_LOCK",
  "IPC_OWNER",
  "KILL",
  "LEASE",
  "LINUX_IMMUTABLE",
  "MAC_ADMIN",
  "MAC_OVERRIDE",
  "MKNOD",
  "NET_ADMIN",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_RAW",
  "PERFMON",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYSLOG",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_CHROOT",
  "SYS_MODULE",
  "SYS_NICE",
  "SYS_PACCT",
  "SYS_PTRACE",
  "SYS_RAWIO",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "WAKE_ALARM",
]);

function readId(r: ObjectReader, key: string): number | undefined {
  const value = r.int(key);
  if (value === undefined) return undefined;
  const errors = linuxIdErrors(value);
  reportAll(r.sink, r.at(key), value, errors);
  return errors.length === 0 ? value : undefined;
}

export function decodeContainerSecurityContext(
  value: unknown,
  path: FieldPath,
  sink: ErrorSink,
): ContainerSecurityContext | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const capabilities = r.has("capabilities")
    ? decodeCapabilities(r.raw("capabilities"), r.at("capabilities"), sink)
    : undefined;
  const seccompProfile = r.has("seccompProfile")
    ? decodeSeccompProfile(r.raw("seccompProfile"), r.at("seccompProfile"), sink)
    : undefined;
  const sc: ContainerSecurityContext = {
    runAsUser: readId(r, "runAsUser"),
    runAsGroup: readId(r, "runAsGroup"),
    runAsNonRoot: r.bool("runAsNonRoot"),
    privileged: r.bool("privileged"),
    readOnlyRootFilesystem: r.bool("readOnlyRootFilesystem"),
    allowPrivilegeEscalation: r.bool("allowPrivilegeEscalation"),
    capabilities,
    seccompProfile,
    procMount: readOptionalEnum(r, "procMount", PROC_MOUNTS),
  };
  r.unsupported(UNSUPPORTED_CONTAINER_FIELDS);
  r.finish();

  if (sc.procMount === "Unmasked") {
    // Kubernetes allows an unmasked /proc only inside a user namespace (hostUsers: false),
    // which berth does not create.
    sink.add(invalid(path.child("procMount"), "Unmasked", "`hostUsers` must be false to use `Unmasked`"));
  }
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true) {
      sink.add(
        invalid(path, value, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"),
      );
    }
    if (capabilities?.add.some((c) => normalizeCapability(c) === "SYS_ADMIN")) {
      sink.add(
        invalid(
          path,
          value,
          "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
        ),
      );
    }
  }
  return compact(sc);
}

export function decodePodSecurityContext(
  value: unknown,
  path: FieldPath,
  hostNetwork: boolean,
  sink: ErrorSink,
): PodSecurityContext {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return { supplementalGroups: [], sysctls: [] };
  const seccompProfile = r.has("seccompProfile")
    ? decodeSeccompProfile(r.raw("seccompProfile"), r.at("seccompProfile"), sink)
    : undefined;
  const sc: PodSecurityContext = {
    runAsUser: readId(r, "runAsUser"),
    runAsGroup: readId(r, "runAsGroup"),
    runAsNonRoot: r.bool("runAsNonRoot"),
    fsGroup: readId(r, "fsGroup"),
    supplementalGroups: r.list("supplementalGroups", (item, itemPath) => {
      const id = checkInt(item, itemPath, sink);
      if (id === undefined) return undefined;
      const errors = linuxIdErrors(id);
      reportAll(sink, itemPath, id, errors);
      return errors.length === 0 ? id : undefined;
    }),
    sysctls: decodeSysctls(r, hostNetwork),
    seccompProfile,
  };
  r.unsupported(UNSUPPORTED_POD_FIELDS);
  r.finish();
  return compact(sc);
}

function decodeSysctls(r: ObjectReader, hostNetwork: boolean): Sysctl[] {
  const seen = new Set<string>();
  return r.list("sysctls", (item, path) => {
    const sr = ObjectReader.of(item, path, r.sink);
    if (sr === undefined) return undefined;
    const name = sr.requiredString("name");
    const value = sr.string("value") ?? "";
    sr.finish();
    if (name === undefined) return undefined;
    const errors = sysctlNameErrors(name);
    reportAll(r.sink, sr.at("name"), name, errors);
    if (errors.length > 0) return undefined;
    if (seen.has(name)) r.sink.add(duplicate(sr.at("name"), name));
    seen.add(name);
    if (hostNetwork && name.startsWith("net.")) {
      r.sink.add(invalid(sr.at("name"), name, "may not be specified when 'hostNetwork' is true"));
    }
    return { name, value };
  });
}

function decodeCapabilities(value: unknown, path: FieldPath, sink: ErrorSink): Capabilities | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const read = (key: "add" | "drop"): string[] => {
    const names = r.stringList(key);
    names.forEach((name, i) => {
      if (!CAPABILITIES.has(normalizeCapability(name))) {
        sink.add(
          invalid(r.at(key).index(i), name, "must be a Linux capability such as NET_ADMIN or CAP_NET_ADMIN"),
        );
      }
    });
    return names;
  };
  const capabilities = { add: read("add"), drop: read("drop") };
  r.finish();
  return capabilities;
}

function normalizeCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith("CAP_") ? upper.slice(4) : upper;
}

function decodeSeccompProfile(value: unknown, path: FieldPath, sink: ErrorSink): SeccompProfile | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const typeMissing = !r.has("type") || r.raw("type") === "";
  const type = readOptionalEnum(r, "type", SECCOMP_PROFILE_TYPES);
  const localhostProfile = r.string("localhostProfile");
  r.finish();
  if (typeMissing) {
    sink.add(required(path.child("type")));
    return undefined;
  }
  if (type === "Localhost") {
    if (localhostProfile === undefined) {
      sink.add(required(path.child("localhostProfile"), "must be set when seccomp type is Localhost"));
      return undefined;
    }
    const errors = localDescendingPathErrors(localhostProfile);
    reportAll(sink, path.child("localhostProfile"), localhostProfile, errors);
    return errors.length === 0 ? { type, localhostProfile } : undefined;
  }
  if (localhostProfile !== undefined) {
    sink.add(
      invalid(
        path.child("localhostProfile"),
        localhostProfile,
        "can only be set when seccomp type is Localhost",
      ),
    );
  }
  return type === undefined ? undefined : { type };
}
