// The image bounds of the agent config: defaults, file overrides, validation.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../agent/config.js";
import { DEFAULT_IMAGE_LIMITS } from "../../../cri/images/image-limits.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-config-images-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(text: string) {
  const path = join(dir, "config.yaml");
  await writeFile(path, text);
  return loadConfig({ path, required: true, env: {} });
}

describe("image bounds in the agent config", () => {
  it("default to 127 layers and the documented sizes", async () => {
    const config = await loadConfig({ path: join(dir, "absent.yaml"), env: {} });
    expect(config.images).toEqual(DEFAULT_IMAGE_LIMITS);
    expect(config.images.maxLayers).toBe(127);
  });

  it("are read from the file, field by field", async () => {
    const config = await load("images:\n  maxLayers: 64\n  maxCompressionRatio: 50\n");
    expect(config.images).toEqual({ ...DEFAULT_IMAGE_LIMITS, maxLayers: 64, maxCompressionRatio: 50 });
  });

  it("refuse values that are not positive whole numbers, naming the field", async () => {
    await expect(load("images:\n  maxLayers: 0\n")).rejects.toThrow(/images: maxLayers/);
    await expect(load("images:\n  maxImageUncompressedBytes: 1.5\n")).rejects.toThrow(
      /images: maxImageUncompressedBytes/,
    );
  });
});
