// `npm run bench`: every benchmark, one after the other, each printing its own table.
import { main as cli } from "./cli.js";
import { main as pull } from "./pull.js";
import { main as runtime } from "./runtime.js";
import { main as stats } from "./stats.js";

const benches: [string, () => Promise<void>][] = [
  ["runtime", runtime],
  ["pull", pull],
  ["stats", stats],
  ["cli", cli],
];
const only = process.argv[2];
for (const [name, bench] of benches) {
  if (only && only !== name) continue;
  await bench();
}
