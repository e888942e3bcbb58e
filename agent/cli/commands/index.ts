// Every CLI command module, in the order `berth --help` lists them. A new command is a
// new file in this folder plus one line here.
import type { RegisterCommand } from "../context.js";
import { registerAgent } from "./agent.js";
import { registerExec } from "./exec.js";
import { registerApply } from "./apply.js";
import { registerDelete } from "./delete.js";
import { registerDescribe } from "./describe.js";
import { registerDoctor } from "./doctor.js";
import { registerEvents } from "./events.js";
import { registerExplain } from "./explain.js";
import { registerImages } from "./images.js";
import { registerInspect } from "./inspect.js";
import { registerInstall } from "./install.js";
import { registerLogs } from "./logs.js";
import { registerPods } from "./pods.js";
import { registerPull } from "./pull.js";
import { registerStats } from "./stats.js";

export const COMMANDS: RegisterCommand[] = [
  registerAgent,
  registerPods,
  registerApply,
  registerDelete,
  registerDescribe,
  registerEvents,
  registerExplain,
  registerImages,
  registerPull,
  registerExec,
  registerLogs,
  registerInspect,
  registerStats,
  registerInstall,
  registerDoctor,
];
