import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  killVictim,
  livenessOf,
  mainProcessOomKilled,
  procLiveness,
} from "../../../../cri/events/oom-classify.js";

/** /proc/<pid>/stat with a given state and flags (field 9). */
function stat(state: string, flags = 0x400100, comm = "sleep"): string {
  return `42 (${comm}) ${state} 1 42 42 0 -1 ${flags} 120 0 0 0 1 2 0 0 20 0 1 0 100 1000 100 0\n`;
}

function status(sigPnd = "0000000000000000", shdPnd = "0000000000000000"): string {
  return `Name:\tsleep\nState:\tS (sleeping)\nSigQ:\t0/7000\nSigPnd:\t${sigPnd}\nShdPnd:\t${shdPnd}\nSigBlk:\t0000000000000000\n`;
}

describe("livenessOf", () => {
  it("calls a sleeping or running process alive", () => {
    expect(livenessOf(stat("S"), status())).toBe("alive");
    expect(livenessOf(stat("R"), status())).toBe("alive");
  });

  it("calls a zombie or dead task exiting", () => {
    expect(livenessOf(stat("Z"), status())).toBe("exiting");
    expect(livenessOf(stat("X"), status())).toBe("exiting");
  });

  it("sees PF_EXITING in the flags", () => {
    expect(livenessOf(stat("D", 0x400104), status())).toBe("exiting");
  });

  it("sees a pending SIGKILL, shared or private", () => {
    expect(livenessOf(stat("S"), status("0000000000000000", "0000000000000100"))).toBe("exiting");
    expect(livenessOf(stat("S"), status("0000000000000100"))).toBe("exiting");
    // SIGTERM (bit 14) pending is not a kill.
    expect(livenessOf(stat("S"), status("0000000000004000"))).toBe("alive");
  });

  it("reads past a command name with spaces and parentheses", () => {
    expect(livenessOf(stat("Z", 0, "a (b) c"), status())).toBe("exiting");
    expect(livenessOf(stat("S", 0, "x) R (y"), status())).toBe("alive");
  });
});

describe("procLiveness", () => {
  it("reads the files of a proc tree and calls a missing pid gone", async () => {
    const root = await mkdtemp(join(tmpdir(), "berth-proc-"));
    try {
      await mkdir(join(root, "42"));
      await writeFile(join(root, "42", "stat"), stat("S"));
      await writeFile(join(root, "42", "status"), status("0", "100"));
      const probe = procLiveness(root);
      expect(await probe(42)).toBe("exiting");
      expect(await probe(43)).toBe("gone");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("sees this test process alive", async () => {
    expect(await procLiveness()(process.pid)).toBe("alive");
  });
});

describe("mainProcessOomKilled", () => {
  const base = { exitCode: 137, conmonSawOom: false, unattributedKills: 0, processKills: 0 };

  it("is a container kill when a seen kill is unaccounted for and the main process died of SIGKILL", () => {
    expect(mainProcessOomKilled({ ...base, unattributedKills: 1 })).toBe(true);
    expect(mainProcessOomKilled({ ...base, unattributedKills: 2, processKills: 3 })).toBe(true);
  });

  it("trusts conmon when it saw a kill the watcher did not", () => {
    expect(mainProcessOomKilled({ ...base, conmonSawOom: true })).toBe(true);
  });

  it("does not blame an old child kill for a later SIGKILL (conmon's file stays)", () => {
    expect(mainProcessOomKilled({ ...base, conmonSawOom: true, processKills: 1 })).toBe(false);
  });

  it("is never a container kill unless the main process died of SIGKILL", () => {
    expect(mainProcessOomKilled({ ...base, exitCode: 1, unattributedKills: 1, conmonSawOom: true })).toBe(
      false,
    );
    expect(mainProcessOomKilled({ ...base, exitCode: 0, unattributedKills: 1 })).toBe(false);
  });

  it("is a plain SIGKILL without any kill seen", () => {
    expect(mainProcessOomKilled(base)).toBe(false);
  });
});

describe("killVictim", () => {
  it("puts the kill down to another process while the main process lives", () => {
    expect(killVictim("alive")).toBe("process");
    expect(killVictim("unknown")).toBe("process");
  });

  it("leaves it to the exit while the main process is dying or gone", () => {
    expect(killVictim("exiting")).toBe("undecided");
    expect(killVictim("gone")).toBe("undecided");
  });
});
