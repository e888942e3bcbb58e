// Probes in a few words: what is checked ("http-get :8080/healthz", "exec [false]") and what
// went wrong ("returned 500", "connection refused"), from the spec and the probe's output.
import type { Jsonified } from "../../node-api/pod-json.js";
import type { Probe } from "../../podspec/types.js";

export type ProbeJson = Jsonified<Probe>;

/** What the probe checks, as a short phrase. */
export function probeTarget(probe: ProbeJson): string {
  const h = probe.handler;
  switch (h.type) {
    case "exec":
      return `exec [${h.command.join(" ")}]`;
    case "httpGet": {
      const path = h.path.startsWith("/") || h.path === "" ? h.path : `/${h.path}`;
      const scheme = h.scheme.toLowerCase() === "https" ? "https://" : "";
      return `http-get ${scheme}${h.host ?? ""}:${h.port}${path}`;
    }
    case "tcpSocket":
      return `tcp-socket ${h.host ?? ""}:${h.port}`;
    case "grpc":
      return `grpc :${h.port}${h.service ? ` ${h.service}` : ""}`;
  }
}

/** The probe's period and threshold: "checked every 10s, restarts after 3 failures in a row". */
export function probeCadence(probe: ProbeJson, action: "restart" | "unready"): string {
  const failures = probe.failureThreshold === 1 ? "1 failure" : `${probe.failureThreshold} failures in a row`;
  const acts = action === "restart" ? "restarts" : "unready";
  return `checked every ${probe.periodSeconds}s, ${acts} after ${failures}`;
}

const NETWORK_ERRORS = [
  "connection refused",
  "connection reset by peer",
  "no route to host",
  "network is unreachable",
  "i/o timeout",
  "timed out",
  "Client.Timeout exceeded",
  "context deadline exceeded",
  "EOF",
];

/** What the failure was, as a phrase that follows the probe target: "returned 500", "connection refused". */
export function probeOutcome(output: string, probe: ProbeJson | undefined): string {
  const text = output.trim();
  const status = /HTTP probe failed with statuscode: (\d+)/.exec(text);
  if (status) return `returned ${status[1]}`;
  if (text === "") return probe?.handler.type === "exec" ? "exited non-zero" : "failed";
  for (const known of NETWORK_ERRORS) if (text.includes(known)) return known;
  const firstLine = (text.split("\n").find((l) => l.trim() !== "") ?? text).trim();
  const withoutUrl = firstLine.replace(/^Get "[^"]*":\s*/, "");
  return probe?.handler.type === "exec" ? `failed: ${clip(withoutUrl)}` : clip(withoutUrl);
}

function clip(text: string, max = 160): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
