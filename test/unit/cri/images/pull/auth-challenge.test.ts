import { describe, expect, it } from "vitest";
import { parseWwwAuthenticate } from "../../../../../cri/images/pull/auth-challenge.js";

describe("parseWwwAuthenticate", () => {
  it("reads a Bearer challenge as registries send it", () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/busybox:pull",
        },
      },
    ]);
  });

  it("reads several challenges in one header and across headers, with spaces, escapes and tokens", () => {
    expect(
      parseWwwAuthenticate([
        'Basic realm="Registry \\"Realm\\"", charset=UTF-8, Bearer realm="https://t.example.com/token" , service=reg',
        'Newauth realm="apps"',
      ]),
    ).toEqual([
      { scheme: "basic", params: { realm: 'Registry "Realm"', charset: "UTF-8" } },
      { scheme: "bearer", params: { realm: "https://t.example.com/token", service: "reg" } },
      { scheme: "newauth", params: { realm: "apps" } },
    ]);
  });

  it("copes with nothing, a bare scheme and malformed input", () => {
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate("")).toEqual([]);
    expect(parseWwwAuthenticate("Basic")).toEqual([{ scheme: "basic", params: {} }]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).toEqual([
      { scheme: "bearer", params: { realm: "unterminated" } },
    ]);
    // A token68 credential is not a parameter; it must not hang or throw.
    expect(parseWwwAuthenticate("Negotiate abc==")[0]?.scheme).toBe("negotiate");
  });
});
