// Static pods get their uid from where they are declared, not from chance, so that the same
// manifest file names the same pod across agent restarts (the kubelet derives static pod
// uids from the manifest in the same spirit).
import { createHash } from "node:crypto";
import { resolve } from "node:path";

/** A UUID-shaped uid from the manifest's absolute path and the pod's namespace/name. */
export function staticPodUid(manifestPath: string, namespace: string, name: string): string {
  const hex = createHash("sha256")
    .update(`berth static pod\0${resolve(manifestPath)}\0${namespace}\0${name}`)
    .digest("hex");
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join(
    "-",
  );
}
