import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { trackLogLevel } from "../../../systemd/log-level.js";

describe("trackLogLevel", () => {
  it("changes the level of children and grandchildren made before the change", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const root = pino({ level: "info" }, sink);
    const control = trackLogLevel(root);
    const child = root.child({ component: "cni" });
    const grandchild = child.child({ pod: "p1" });
    grandchild.debug("hidden");
    control.setLevel("debug");
    expect(root.level).toBe("debug");
    expect(child.level).toBe("debug");
    expect(grandchild.level).toBe("debug");
    grandchild.debug("shown");
    const later = root.child({ component: "new" });
    expect(later.level).toBe("debug");
    expect(control.descendants()).toBe(3);
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(["shown"]);
  });
});
