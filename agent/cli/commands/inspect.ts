// `berth inspect`: the verbose status of a container, pod sandbox or image, as JSON or
// YAML. The runtime's `info` map holds JSON strings; they are printed as objects, at the
// top level beside `status`, the shape crictl users script against (`.info.pid`).
import { Option } from "commander";
import type { ServiceError } from "@grpc/grpc-js";
import {
  containerStateToJSON,
  ImageSpec,
  PodSandboxState,
  podSandboxStateToJSON,
  type ContainerStatus,
  type PodSandbox,
  type PodSandboxStatus,
} from "../../../cri/api/generated/api.js";
import type { CriClients } from "../../../cri/grpc-client.js";
import { findContainer, matchIdOrPrefix } from "../container-ref.js";
import type { RegisterCommand } from "../context.js";
import { shortId, structured } from "../output.js";

const GRPC_INVALID_ARGUMENT = 3;
const KINDS = ["container", "pod", "image"] as const;
type Kind = (typeof KINDS)[number];

interface Match {
  kind: Kind;
  id: string;
  /** The ref is this object's full id (or a name it carries), not a mere prefix. */
  exact: boolean;
}

export const registerInspect: RegisterCommand = (program, ctx) => {
  program
    .command("inspect")
    .description("show the verbose status of containers, pod sandboxes or images")
    .argument("<ids...>", "ids or unique id prefixes (container, pod and image names work too)")
    .addOption(new Option("-o, --output <format>", "output format").choices(["json", "yaml"]).default("json"))
    .addOption(new Option("--type <kind>", "look only among this kind of object").choices([...KINDS]))
    .action(async (refs: string[], opts: { output: "json" | "yaml"; type?: Kind }) =>
      ctx.withCri(async (cri) => {
        const results: unknown[] = [];
        for (const ref of refs) {
          const match = await findObject(cri, ref, opts.type ? [opts.type] : [...KINDS]);
          results.push(await inspectObject(cri, match));
        }
        process.stdout.write(structured(results.length === 1 ? results[0] : results, opts.output));
      }),
    );
};

/** The one object `ref` names among the kinds asked; an exact id (or name) wins over prefixes. */
async function findObject(cri: CriClients, ref: string, kinds: Kind[]): Promise<Match> {
  const matches: Match[] = [];
  if (kinds.includes("container")) {
    const { containers } = await cri.runtime.listContainers({});
    const found = findContainer(containers, ref);
    if (found) {
      const c = found.container;
      matches.push({ kind: "container", id: c.id, exact: c.id === ref || c.metadata?.name === ref });
    }
  }
  if (kinds.includes("pod")) {
    const { items } = await cri.runtime.listPodSandbox({});
    const found = findSandbox(items, ref);
    if (found) matches.push(found);
  }
  if (kinds.includes("image")) {
    const image = await imageStatus(cri, ref, false);
    if (image?.image) {
      const id = image.image.id;
      const exact = id === ref || id === `sha256:${ref}` || !/^[0-9a-f]+$/.test(ref);
      matches.push({ kind: "image", id, exact });
    }
  }
  const exact = matches.filter((m) => m.exact);
  const chosen = exact.length === 1 ? exact : matches;
  if (chosen.length === 1) return chosen[0]!;
  const what = kinds.map((k) => (k === "pod" ? "pod sandbox" : k)).join(", ");
  if (chosen.length === 0) throw new Error(`no ${what} "${ref}"`);
  const list = chosen.map((m) => `${m.kind} ${shortId(m.id)}`).join(" and ");
  throw new Error(
    `"${ref}" matches ${list}: give more of the id, or --type ${chosen.map((m) => m.kind).join("|")}`,
  );
}

function findSandbox(items: PodSandbox[], ref: string): Match | undefined {
  const exact = items.find((s) => s.id === ref);
  if (exact) return { kind: "pod", id: exact.id, exact: true };
  const named = items
    .filter((s) => s.metadata?.name === ref)
    .sort(
      (a, b) =>
        Number(b.state === PodSandboxState.SANDBOX_READY) -
          Number(a.state === PodSandboxState.SANDBOX_READY) || (a.createdAt > b.createdAt ? -1 : 1),
    );
  if (named[0]) return { kind: "pod", id: named[0].id, exact: true };
  const prefixed = matchIdOrPrefix(items, ref, (s) => s.id);
  if (prefixed.length > 1) {
    throw new Error(
      `"${ref}" is the start of ${prefixed.length} pod sandbox ids (${prefixed.map((s) => shortId(s.id)).join(", ")}): give more of the id`,
    );
  }
  return prefixed[0] && { kind: "pod", id: prefixed[0].id, exact: false };
}

/** ImageStatus, or undefined when `ref` cannot name an image at all (the runtime rejects it). */
async function imageStatus(cri: CriClients, ref: string, verbose: boolean) {
  try {
    return await cri.images.imageStatus({ image: ImageSpec.fromPartial({ image: ref }), verbose });
  } catch (err) {
    const e = err as Partial<ServiceError>;
    // INVALID_ARGUMENT: not an image reference. An ambiguous id prefix is worth saying, though.
    if (e.code === GRPC_INVALID_ARGUMENT && !/ambiguous/.test(e.details ?? "")) return undefined;
    throw err;
  }
}

async function inspectObject(cri: CriClients, match: Match): Promise<Record<string, unknown>> {
  switch (match.kind) {
    case "container": {
      const res = await cri.runtime.containerStatus({ containerId: match.id, verbose: true });
      return { status: res.status && readableContainer(res.status), ...parseInfo(res.info) };
    }
    case "pod": {
      const res = await cri.runtime.podSandboxStatus({ podSandboxId: match.id, verbose: true });
      return {
        status: res.status && readableSandbox(res.status),
        ...parseInfo(res.info),
        containersStatuses: res.containersStatuses.map(readableContainer),
        timestamp: res.timestamp,
      };
    }
    case "image": {
      const res = await imageStatus(cri, match.id, true);
      if (!res?.image) throw new Error(`image ${shortId(match.id)} is gone`);
      return { status: res.image, ...parseInfo(res.info) };
    }
  }
}

/** The runtime's info map: values that are JSON become objects; others stay strings. */
export function parseInfo(info: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(info).map(([key, value]) => {
      try {
        return [key, JSON.parse(value) as unknown];
      } catch {
        return [key, value];
      }
    }),
  );
}

function readableContainer(status: ContainerStatus): Record<string, unknown> {
  return { ...status, state: containerStateToJSON(status.state) };
}

function readableSandbox(status: PodSandboxStatus): Record<string, unknown> {
  return { ...status, state: podSandboxStateToJSON(status.state) };
}
