// Column alignment with the rules of Go's text/tabwriter (minwidth 0, padding 2, spaces),
// which kubectl describe output is laid out with, so that berth describe lines up the same
// way: cells end with a tab; a column is aligned across the consecutive lines that have a
// cell in it, and a line with fewer cells ends that block. A line's last cell does not
// widen its column.
const PADDING = 2;

export function alignTabs(text: string): string {
  const lines = text.split("\n").map((line) => line.split("\t"));
  const out: string[] = lines.map(() => "");
  formatColumns(lines, out, 0, lines.length, []);
  return out.join("\n");
}

function formatColumns(lines: string[][], out: string[], from: number, to: number, widths: number[]): void {
  const column = widths.length;
  let line0 = from;
  for (let i = from; i < to; i++) {
    if (column >= (lines[i] as string[]).length - 1) continue;
    writeLines(lines, out, line0, i, widths);
    const start = i;
    let width = 0;
    for (; i < to; i++) {
      const cells = lines[i] as string[];
      if (column >= cells.length - 1) break;
      width = Math.max(width, (cells[column] as string).length + PADDING);
    }
    formatColumns(lines, out, start, i, [...widths, width]);
    line0 = i;
    i--;
  }
  writeLines(lines, out, line0, to, widths);
}

function writeLines(lines: string[][], out: string[], from: number, to: number, widths: number[]): void {
  for (let i = from; i < to; i++) {
    const cells = lines[i] as string[];
    out[i] = cells.map((cell, j) => (j < widths.length ? cell.padEnd(widths[j] as number) : cell)).join("");
  }
}
