import { describe, expect, it } from "vitest";
import { humanDuration, podColumns } from "../../../../agent/cli/pod-columns.js";
import { NOW, podIn, running, status, terminated, waiting } from "./pod-fixtures.js";

const columns = (...args: Parameters<typeof podIn>) => podColumns(podIn(...args), NOW);

describe("podColumns: STATUS as kubectl computes it", () => {
  it("shows the phase while no container has a status yet", () => {
    expect(columns({ phase: "Pending" })).toMatchObject({ status: "Pending", ready: "0/1", restarts: "0" });
  });

  it("shows a waiting container's reason", () => {
    expect(
      columns({ phase: "Pending", appStatuses: [status("app0", waiting("ContainerCreating"))] }).status,
    ).toBe("ContainerCreating");
    expect(columns({ phase: "Pending", appStatuses: [status("app0", waiting("ErrImagePull"))] }).status).toBe(
      "ErrImagePull",
    );
  });

  it("counts ready running containers", () => {
    const c = columns({
      apps: 2,
      appStatuses: [status("app0", running(), { ready: true }), status("app1", running(), { ready: false })],
    });
    expect(c).toMatchObject({ status: "Running", ready: "1/2", age: "60m", ip: "10.88.0.9" });
  });

  it("shows CrashLoopBackOff with the restart count and when the last restart was", () => {
    const c = columns({
      appStatuses: [
        status("app0", waiting("CrashLoopBackOff", "back-off 40s restarting failed container"), {
          restartCount: 5,
          lastState: terminated(1, "Error", 150),
        }),
      ],
    });
    expect(c).toMatchObject({ status: "CrashLoopBackOff", ready: "0/1", restarts: "5 (2m30s ago)" });
  });

  it("shows Completed, Error, OOMKilled, or the exit code or signal when there is no reason", () => {
    const one = (state: ReturnType<typeof terminated>) =>
      columns({ phase: "Succeeded", appStatuses: [status("app0", state)] });
    expect(one(terminated(0, "Completed")).status).toBe("Completed");
    expect(one(terminated(1, "Error")).status).toBe("Error");
    expect(one(terminated(137, "OOMKilled")).status).toBe("OOMKilled");
    expect(one(terminated(3, "")).status).toBe("ExitCode:3");
    expect(one(terminated(137, "", 30, 9)).status).toBe("Signal:9");
  });

  it("shows Running (or NotReady) when a container completed while another still runs", () => {
    const appStatuses = [
      status("app0", running(), { ready: true }),
      status("app1", terminated(0, "Completed")),
    ];
    expect(columns({ apps: 2, appStatuses, conditions: [["Ready", "True"]] }).status).toBe("Running");
    expect(columns({ apps: 2, appStatuses, conditions: [["Ready", "False"]] }).status).toBe("NotReady");
  });

  it("shows init progress as Init:N/M, and a failing init container's reason", () => {
    const init = (...initStatuses: ReturnType<typeof status>[]) =>
      columns({
        init: 2,
        phase: "Pending",
        initStatuses,
        appStatuses: [status("app0", waiting("PodInitializing"))],
      });
    expect(init(status("init0", running())).status).toBe("Init:0/2");
    expect(init(status("init0", waiting("PodInitializing"))).status).toBe("Init:0/2");
    expect(init(status("init0", terminated(0, "Completed")), status("init1", running())).status).toBe(
      "Init:1/2",
    );
    expect(
      init(
        status("init0", waiting("CrashLoopBackOff"), {
          restartCount: 3,
          lastState: terminated(1, "Error", 20),
        }),
      ).status,
    ).toBe("Init:CrashLoopBackOff");
    expect(init(status("init0", terminated(1, "Error"))).status).toBe("Init:Error");
    expect(init(status("init0", terminated(2, ""))).status).toBe("Init:ExitCode:2");
    expect(init(status("init0", terminated(2, "", 30, 15))).status).toBe("Init:Signal:15");
    // Init container restarts count while the pod initializes.
    expect(
      init(
        status("init0", waiting("CrashLoopBackOff"), {
          restartCount: 3,
          lastState: terminated(1, "Error", 20),
        }),
      ).restarts,
    ).toBe("3 (20s ago)");
  });

  it("shows the app containers once every init container completed", () => {
    const c = columns({
      init: 1,
      initStatuses: [status("init0", terminated(0, "Completed"))],
      appStatuses: [status("app0", running(), { ready: true })],
      conditions: [["Initialized", "True"]],
    });
    expect(c.status).toBe("Running");
    expect(c.ready).toBe("1/1");
  });

  it("shows Terminating for a pod being deleted, unless it already finished", () => {
    const appStatuses = [status("app0", running(), { ready: true })];
    expect(columns({ appStatuses, terminating: true }).status).toBe("Terminating");
    expect(
      columns({
        phase: "Succeeded",
        appStatuses: [status("app0", terminated(0, "Completed"))],
        terminating: true,
      }).status,
    ).toBe("Completed");
  });

  it("shows the pod's own reason (Evicted) when there is one", () => {
    expect(columns({ phase: "Failed", reason: "Evicted" }).status).toBe("Evicted");
  });
});

describe("humanDuration", () => {
  it.each([
    [-5_000, "<invalid>"],
    [-500, "0s"],
    [0, "0s"],
    [59_000, "59s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [150_000, "2m30s"],
    [600_000, "10m"],
    [179 * 60_000, "179m"],
    [3 * 3600_000, "3h"],
    [(5 * 60 + 20) * 60_000, "5h20m"],
    [30 * 3600_000, "30h"],
    [51 * 3600_000, "2d3h"],
    [400 * 86400_000, "400d"],
    [(3 * 365 + 10) * 86400_000, "3y10d"],
    [9 * 365 * 86400_000, "9y"],
  ])("%d ms -> %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
