// Tables whose cells may be coloured: widths are measured on the plain text and colour is
// added after padding, so columns stay aligned. Colour only when writing to a terminal
// (and NO_COLOR is unset); the layout is output.ts's table().
export type Colour = "red" | "green" | "yellow" | "grey";

const CODES: Readonly<Record<Colour, string>> = { red: "31", green: "32", yellow: "33", grey: "90" };

export type Paint = (text: string, colour: Colour | undefined) => string;

export function painter(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const enabled = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== "dumb";
  return (text, colour) =>
    enabled && colour !== undefined ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
}

export const plain: Paint = (text) => text;

/** output.ts's layout (three spaces between columns), with colourCell choosing each cell's colour. */
export function colourTable(
  headers: string[],
  rows: string[][],
  paint: Paint = plain,
  colourCell: (column: number, value: string) => Colour | undefined = () => undefined,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[], colour: boolean): string => {
    const last = cells.length - 1;
    const padded = cells.map((c, i) => {
      const text = i === last ? c : c.padEnd(widths[i] ?? 0);
      return colour ? paint(text, colourCell(i, c)) : text;
    });
    return padded.join("   ").trimEnd();
  };
  return [line(headers, false), ...rows.map((r) => line(r, true))].join("\n") + "\n";
}

/** The colour of a pod STATUS: green when it runs or completed, red when it failed or loops. */
export function statusColour(status: string): Colour | undefined {
  if (status === "Running" || status === "Completed" || status === "Succeeded") return "green";
  if (
    status === "Pending" ||
    status === "Terminating" ||
    status === "ContainerCreating" ||
    status === "PodInitializing"
  )
    return "yellow";
  if (/^Init:\d+\/\d+$/.test(status)) return "yellow";
  return "red";
}
