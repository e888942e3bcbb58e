// Every CLI command module, in the order `berth --help` lists them. A new command is a
// new file in this folder plus one line here.
import type { RegisterCommand } from "../context.js";
import { registerAgent } from "./agent.js";
import { registerImages } from "./images.js";
import { registerPods } from "./pods.js";

export const COMMANDS: RegisterCommand[] = [registerAgent, registerPods, registerImages];
