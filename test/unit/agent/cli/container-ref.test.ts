import { describe, expect, it } from "vitest";
import { Container, ContainerState } from "../../../../cri/api/generated/api.js";
import { findContainer, resolveContainer } from "../../../../agent/cli/container-ref.js";

function container(
  id: string,
  name: string,
  state: ContainerState,
  createdAt: number,
  attempt = 0,
): Container {
  return Container.fromPartial({
    id,
    podSandboxId: `pod${id}`,
    metadata: { name, attempt },
    state,
    createdAt: BigInt(createdAt),
  });
}

const { CONTAINER_RUNNING: RUNNING, CONTAINER_EXITED: EXITED, CONTAINER_CREATED: CREATED } = ContainerState;

describe("findContainer", () => {
  const list = [
    container("aaa111", "web", EXITED, 1, 0),
    container("aaa222", "web", RUNNING, 2, 1),
    container("bbb333", "web", RUNNING, 3, 0),
    container("ccc444", "db", EXITED, 4),
    container("ccc555", "db", CREATED, 5),
    container("ddd666", "job", EXITED, 6),
  ];

  it("takes a full id or a unique prefix", () => {
    expect(findContainer(list, "aaa222")?.container.id).toBe("aaa222");
    expect(findContainer(list, "ddd")?.container.id).toBe("ddd666");
    expect(findContainer(list, "eee")).toBeUndefined();
    expect(findContainer(list, "")).toBeUndefined();
  });
  it("refuses an ambiguous prefix, naming the candidates", () => {
    expect(() => findContainer(list, "aaa")).toThrow(/start of 2 container ids \(aaa111, aaa222\)/);
  });
  it("picks the newest running container of a shared name, and says so", () => {
    const found = findContainer(list, "web");
    expect(found?.container.id).toBe("bbb333");
    expect(found?.note).toMatch(/3 containers are named "web"; using the newest running one, bbb333/);
  });
  it("picks the newest when none of that name runs", () => {
    const found = findContainer(list, "db");
    expect(found?.container.id).toBe("ccc555");
    expect(found?.note).toMatch(/using the newest, ccc555/);
  });
  it("has no note for a unique name, and prefers a name over an id prefix", () => {
    expect(findContainer(list, "job")).toEqual({ container: list[5] });
    const tricky = [...list, container("job999", "other", RUNNING, 9)];
    expect(findContainer(tricky, "job")?.container.id).toBe("ddd666");
  });
  it("resolveContainer explains what it needs when nothing matches", () => {
    expect(() => resolveContainer(list, "nope")).toThrow(
      /no container "nope": give an id, a unique id prefix or a name/,
    );
  });
});
