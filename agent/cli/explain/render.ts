// `berth explain` for people (a headline per problem, its evidence indented under it, colour
// on a terminal) and for scripts (the findings as JSON or YAML).
import { plain, type Colour, type Paint } from "../colour-table.js";
import { structured } from "../output.js";
import { humanDuration } from "../pod-columns.js";
import { clockTime, type Clock } from "./format.js";
import type { Timeline, TimelineEntry } from "./timeline.js";
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

export function renderStructured(explanation: Explanation | Timeline, format: "json" | "yaml"): string {
  return structured(explanation, format);
}

/**
 * The timeline as a table, oldest first: AGE ("5m", as kubectl prints ages) or, wide, the
 * RFC 3339 TIME; then the container ("-" for the pod), what happened and its evidence.
 */
export function renderTimeline(
  timeline: Timeline,
  opts: { now: number; wide: boolean },
  paint: Paint = plain,
): string {
  const { pod } = timeline;
  const title = `pod ${pod.namespace}/${pod.name} timeline:\n`;
  if (timeline.entries.length === 0) return `${title}nothing recorded\n`;
  const when = (e: TimelineEntry): string => {
    if (opts.wide) return e.time;
    const ms = Date.parse(e.time);
    return Number.isNaN(ms) ? e.time : humanDuration(opts.now - ms);
  };
  const rows = timeline.entries.map((e) => [
    when(e),
    e.container ?? "-",
    printable(e.what),
    printable(`${e.details}${e.count > 1 ? ` (x${e.count})` : ""}`) || "-",
  ]);
  const headers = [opts.wide ? "TIME" : "AGE", "CONTAINER", "WHAT", "DETAILS"];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[], warning: boolean): string =>
    cells
      .map((c, i) => {
        const text = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        return warning && i === 2 ? paint(text, "yellow") : text;
      })
      .join("   ")
      .trimEnd();
  const lines = [
    line(headers, false),
    ...rows.map((r, i) => line(r, timeline.entries[i]?.type === "Warning")),
  ];
  return title + lines.join("\n") + "\n";
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
