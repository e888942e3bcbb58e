// Pod volumes. berth provides emptyDir and hostPath; the other Kubernetes volume types are
// recognised by name and refused, each with a field error saying so.
import {
  type FieldPath,
  duplicate,
  forbidden,
  invalid,
  notSupported,
  unsupportedField,
} from "./field-errors.js";
import { type ErrorSink, ObjectReader } from "./field-reader.js";
import { decodeQuantity, isAbsolutePath, readEnum, reportAll } from "./decode-common.js";
import { dns1123LabelErrors, noBackstepErrors } from "./names.js";
import { EMPTY_DIR_MEDIA, HOST_PATH_TYPES, type Volume, type VolumeSource } from "./types.js";

const SUPPORTED_SOURCES = ["emptyDir", "hostPath"] as const;

/** Every other VolumeSource member of the Kubernetes core API. */
const UNSUPPORTED_SOURCES = [
  "awsElasticBlockStore",
  "azureDisk",
  "azureFile",
  "cephfs",
  "cinder",
  "configMap",
  "csi",
  "downwardAPI",
  "ephemeral",
  "fc",
  "flexVolume",
  "flocker",
  "gcePersistentDisk",
  "gitRepo",
  "glusterfs",
  "image",
  "iscsi",
  "nfs",
  "persistentVolumeClaim",
  "photonPersistentDisk",
  "portworxVolume",
  "projected",
  "quobyte",
  "rbd",
  "scaleIO",
  "secret",
  "storageos",
  "vsphereVolume",
];

export function decodeVolumes(r: ObjectReader): Volume[] {
  const seen = new Set<string>();
  return r.list("volumes", (item, path) => {
    const volume = decodeVolume(item, path, r.sink);
    if (volume === undefined) return undefined;
    if (seen.has(volume.name)) r.sink.add(duplicate(path.child("name"), volume.name));
    seen.add(volume.name);
    return volume;
  });
}

function decodeVolume(value: unknown, path: FieldPath, sink: ErrorSink): Volume | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const name = r.requiredString("name");
  if (name !== undefined) reportAll(sink, r.at("name"), name, dns1123LabelErrors(name));

  let source: VolumeSource | undefined;
  let sources = 0;
  for (const key of [...SUPPORTED_SOURCES, ...UNSUPPORTED_SOURCES]) {
    if (!r.has(key)) {
      r.ignore(key);
      continue;
    }
    sources++;
    if (sources > 1) {
      sink.add(forbidden(r.at(key), "may not specify more than 1 volume type"));
      r.ignore(key);
      continue;
    }
    if (key === "emptyDir") source = decodeEmptyDir(r.raw(key), r.at(key), sink);
    else if (key === "hostPath") source = decodeHostPath(r.raw(key), r.at(key), sink);
    else {
      r.ignore(key);
      sink.add(unsupportedField(path, key, "berth provides only emptyDir and hostPath volumes"));
    }
  }
  r.finish();
  // A volume that names no source is an emptyDir, as Kubernetes defaults it.
  if (sources === 0) source = { type: "emptyDir", medium: "" };
  if (name === undefined || source === undefined) return undefined;
  return { name, source };
}

function decodeEmptyDir(value: unknown, path: FieldPath, sink: ErrorSink): VolumeSource | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const medium = readEnum(r, "medium", EMPTY_DIR_MEDIA, "");
  const rawLimit = r.raw("sizeLimit");
  const sizeLimit = rawLimit === undefined ? undefined : decodeQuantity(rawLimit, r.at("sizeLimit"), sink);
  r.finish();
  if (sizeLimit !== undefined && sizeLimit.nanos < 0n) {
    sink.add(invalid(r.at("sizeLimit"), sizeLimit.text, "must be greater than or equal to 0"));
    return undefined;
  }
  return { type: "emptyDir", medium, ...(sizeLimit !== undefined && { sizeLimit }) };
}

function decodeHostPath(value: unknown, path: FieldPath, sink: ErrorSink): VolumeSource | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const hostPath = r.requiredString("path");
  const typeValue = r.string("type") ?? "";
  r.finish();
  const hostPathType = HOST_PATH_TYPES.find((t) => t === typeValue);
  if (hostPathType === undefined) sink.add(notSupported(r.at("type"), typeValue, HOST_PATH_TYPES));
  if (hostPath === undefined) return undefined;
  const errors = noBackstepErrors(hostPath);
  if (!isAbsolutePath(hostPath)) errors.unshift("must be an absolute path");
  reportAll(sink, r.at("path"), hostPath, errors);
  if (errors.length > 0 || hostPathType === undefined) return undefined;
  return { type: "hostPath", path: hostPath, hostPathType };
}
