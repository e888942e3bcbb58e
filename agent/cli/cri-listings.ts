// `berth ps` and `berth pods --sandboxes`: CRI containers and sandboxes as crictl lists
// them. A module of its own so that `berth pods` does not load the generated CRI code.
import { ContainerState, PodSandboxState } from "../../cri/api/generated/api.js";
import type { CriClients } from "../../cri/grpc-client.js";
import { ago, shortId, structured, table, type OutputFormat } from "./output.js";

const STATE_NAMES: Record<number, string> = {
  [ContainerState.CONTAINER_CREATED]: "Created",
  [ContainerState.CONTAINER_RUNNING]: "Running",
  [ContainerState.CONTAINER_EXITED]: "Exited",
};

export async function listContainers(cri: CriClients, format: OutputFormat, all: boolean): Promise<void> {
  const { containers } = await cri.runtime.listContainers({});
  const shown = containers.filter((c) => all || c.state !== ContainerState.CONTAINER_EXITED);
  if (format === "json" || format === "yaml") return void process.stdout.write(structured(shown, format));
  const rows = shown.map((c) => [
    shortId(c.id),
    c.image?.image ?? "",
    ago(c.createdAt),
    STATE_NAMES[c.state] ?? "Unknown",
    c.metadata?.name ?? "",
    String(c.metadata?.attempt ?? 0),
    shortId(c.podSandboxId),
  ]);
  process.stdout.write(table(["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID"], rows));
}

export async function listSandboxes(cri: CriClients, format: OutputFormat): Promise<void> {
  const { items } = await cri.runtime.listPodSandbox({});
  if (format === "json" || format === "yaml") return void process.stdout.write(structured(items, format));
  const rows = items.map((s) => [
    shortId(s.id),
    ago(s.createdAt),
    s.state === PodSandboxState.SANDBOX_READY ? "Ready" : "NotReady",
    s.metadata?.name ?? "",
    s.metadata?.namespace ?? "",
    String(s.metadata?.attempt ?? 0),
  ]);
  process.stdout.write(table(["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT"], rows));
}
