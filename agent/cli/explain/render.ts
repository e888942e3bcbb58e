// `berth explain` for people (a headline per problem, its evidence indented under it, colour
// on a terminal) and for scripts (the findings as JSON or YAML).
import { plain, type Colour, type Paint } from "../colour-table.js";
import { structured } from "../output.js";
import { clockTime, type Clock } from "./format.js";
import type { Explanation, Finding } from "./types.js";

const SEVERITY_COLOUR: Readonly<Record<Finding["severity"], Colour>> = { critical: "red", warning: "yellow" };

export function renderExplanation(explanation: Explanation, clock: Clock, paint: Paint = plain): string {
  const { pod } = explanation;
  const title = `pod ${pod.namespace}/${pod.name}`;
  if (explanation.healthy) return `${title}: ${paint(explanation.summary, "green")}\n`;
  const lines = [`${title}: ${explanation.summary}`];
  for (const f of explanation.findings) {
    lines.push("");
    lines.push(`${paint(`[${f.severity}]`, SEVERITY_COLOUR[f.severity])} ${printable(f.headline)}`);
    for (const e of f.evidence) {
      const at = e.time !== undefined ? clockTime(e.time, clock) : "";
      lines.push(`    ${paint(at.padEnd(8), "grey")}  ${printable(e.text)}`);
    }
    if (f.logTail !== undefined) {
      const who = f.container !== undefined ? ` of ${f.container}` : "";
      if (f.logTail.lines.length === 0) {
        lines.push(`    the previous run${who} wrote no log lines (${f.logTail.path})`);
      } else {
        lines.push(`    last log lines${who}, previous run (${f.logTail.path}):`);
        for (const line of f.logTail.lines) lines.push(`      ${paint("|", "grey")} ${printable(line)}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

export function renderStructured(explanation: Explanation, format: "json" | "yaml"): string {
  return structured(explanation, format);
}

/**
 * Container output and messages as inert text: terminal escape sequences are dropped and
 * other control characters shown as "?", so a log line cannot repaint the reader's terminal.
 */
export function printable(text: string): string {
  return (
    text
      .trimEnd()
      .replace(/\r?\n/g, " | ")
      // Matching control characters is the point of these three.
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
      // eslint-disable-next-line no-control-regex
      .replace(/\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g, "")
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, "?")
  );
}
