import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // Integration tests drive real runc, conmon and mounts on this host: one file at a time
          // keeps them from competing for the two cores and makes leak checks meaningful.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "reliability",
          include: ["test/reliability/**/*.test.ts"],
          // The real agent under kill -9 and random calls, with a census of what it left: one
          // file at a time, so one file's leftovers are never counted against another.
          fileParallelism: false,
          sequence: { concurrent: false },
          testTimeout: 900_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
