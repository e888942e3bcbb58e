// `npm run bench`: every benchmark, one after the other, each printing its own table.
import { main as runtime } from "./runtime.js";

const benches: [string, () => Promise<void>][] = [["runtime", runtime]];
const only = process.argv[2];
for (const [name, bench] of benches) {
  if (only && only !== name) continue;
  await bench();
}
