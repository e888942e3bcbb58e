// Removes every pod sandbox a runtime lists, through its CRI socket: how each benchmark target
// is emptied before it stops. Returns what went wrong instead of throwing, so the rest of the
// clean-up still runs.
import type { CriClients } from "../cri/grpc-client.js";

export async function removeAllSandboxes(cri: CriClients, runtime: string): Promise<string[]> {
  try {
    const { items } = await cri.runtime.listPodSandbox({});
    for (const s of items) {
      await cri.runtime.stopPodSandbox({ podSandboxId: s.id });
      await cri.runtime.removePodSandbox({ podSandboxId: s.id });
    }
    return [];
  } catch (err) {
    return [`removing ${runtime}'s sandboxes failed: ${String(err)}`];
  }
}
