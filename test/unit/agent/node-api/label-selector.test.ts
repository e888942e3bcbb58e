import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { parseLabelSelector } from "../../../../agent/node-api/label-selector.js";

const web = { app: "web", tier: "front", replicas: "3" };
const db = { app: "db", legacy: "" };

describe("parseLabelSelector", () => {
  it.each([
    ["", true, true],
    ["app=web", true, false],
    ["app==web", true, false],
    ["app!=web", false, true],
    ["tier!=back", true, true],
    ["app in (web, db)", true, true],
    ["app notin (web)", false, true],
    ["tier", true, false],
    ["!tier", false, true],
    ["legacy", false, true],
    ["legacy=", false, true],
    ["app=web,tier=front", true, false],
    ["app=web,tier=back", false, false],
    ["replicas>2", true, false],
    ["replicas<3", false, false],
    [" app = web , ! legacy ", true, false],
  ])("%j matches web: %s, db: %s", (selector, matchesWeb, matchesDb) => {
    const match = parseLabelSelector(selector);
    expect(match(web)).toBe(matchesWeb);
    expect(match(db)).toBe(matchesDb);
  });

  it.each(["app in (web", "app=web,", "=web", "app in web", "replicas>x", "app web"])(
    "refuses %j naming label_selector",
    (selector) => {
      expect(() => parseLabelSelector(selector)).toThrow(InvalidArgumentError);
      expect(() => parseLabelSelector(selector)).toThrow(/^label_selector: /);
    },
  );
});
