import { describe, expect, it } from "vitest";
import type { AuthChallenge } from "../../../../../cri/images/pull/auth-challenge.js";
import type { RegistryCredentials } from "../../../../../cri/images/pull/credentials.js";
import {
  RegistryAuthenticator,
  TokenCache,
  type TokenRequest,
} from "../../../../../cri/images/pull/registry-auth.js";
import { RegistryRequestError } from "../../../../../cri/images/pull/registry-error.js";

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    clock: { now: () => now, nowNanos: () => BigInt(now) * 1_000_000n },
    advance: (ms: number) => (now += ms),
  };
}

const SCOPE = "repository:team/app:pull";
const bearer: AuthChallenge = {
  scheme: "bearer",
  params: { realm: "https://auth.example.com/token", service: "reg.example.com", scope: SCOPE },
};

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function tokenServer(reply: (n: number) => { status: number; body: unknown }) {
  const requests: Recorded[] = [];
  const requestToken: TokenRequest = async (req) => {
    requests.push({
      method: req.method,
      url: req.url.toString(),
      headers: req.headers,
      ...(req.body ? { body: req.body.toString() } : {}),
    });
    const { status, body } = reply(requests.length);
    return { status, body: Buffer.from(JSON.stringify(body)) };
  };
  return { requests, requestToken };
}

function authenticator(
  credentials: RegistryCredentials | undefined,
  requestToken: TokenRequest,
  tokens: TokenCache,
  opts: { insecure?: boolean; challenges?: Map<string, AuthChallenge> } = {},
) {
  return new RegistryAuthenticator({
    host: "reg.example.com",
    credentials,
    tokens,
    challenges: opts.challenges ?? new Map(),
    requestToken,
    insecure: opts.insecure ?? false,
  });
}

describe("TokenCache", () => {
  it("forgets tokens when they expire and fetches a token once for simultaneous askers", async () => {
    const { clock, advance } = fakeClock();
    const cache = new TokenCache(clock);
    cache.set("k", "t1", 1000);
    expect(cache.get("k")).toBe("t1");
    advance(1000);
    expect(cache.get("k")).toBeUndefined();

    let fetches = 0;
    const fetch = async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 5));
      return { token: `t${fetches}`, lifetimeMs: 60_000 };
    };
    const tokens = await Promise.all([
      cache.getOrFetch("s", fetch),
      cache.getOrFetch("s", fetch),
      cache.getOrFetch("s", fetch),
    ]);
    expect(tokens).toEqual(["t1", "t1", "t1"]);
    expect(fetches).toBe(1);
    expect(await cache.getOrFetch("s", fetch)).toBe("t1");
  });

  it("keeps a bounded number of entries", () => {
    const { clock } = fakeClock();
    const cache = new TokenCache(clock, 2);
    cache.set("a", "1", 1000);
    cache.set("b", "2", 1000);
    cache.set("c", "3", 1000);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, "2", "3"]);
  });
});

describe("RegistryAuthenticator", () => {
  it("goes anonymous until challenged, then fetches a scoped token with Basic credentials and caches it", async () => {
    const { clock, advance } = fakeClock();
    const server = tokenServer((n) => ({ status: 200, body: { token: `tok${n}`, expires_in: 120 } }));
    const auth = authenticator(
      { username: "alice", password: "pw" },
      server.requestToken,
      new TokenCache(clock),
    );

    expect(await auth.authorization(SCOPE)).toBeUndefined();
    expect(auth.handleUnauthorized([bearer], SCOPE, undefined)).toBe(true);
    expect(await auth.authorization(SCOPE)).toBe("Bearer tok1");
    expect(await auth.authorization(SCOPE)).toBe("Bearer tok1");
    expect(server.requests).toEqual([
      {
        method: "GET",
        url: "https://auth.example.com/token?service=reg.example.com&scope=repository%3Ateam%2Fapp%3Apull",
        headers: { authorization: `Basic ${Buffer.from("alice:pw").toString("base64")}` },
      },
    ]);
    // Renewed a little before it runs out.
    advance(115_000);
    expect(await auth.authorization(SCOPE)).toBe("Bearer tok2");
  });

  it("drops a token the registry refused and fetches a new one", async () => {
    const { clock } = fakeClock();
    const server = tokenServer((n) => ({ status: 200, body: { access_token: `tok${n}` } }));
    const auth = authenticator(undefined, server.requestToken, new TokenCache(clock), {
      challenges: new Map([["reg.example.com", bearer]]),
    });
    const first = await auth.authorization(SCOPE);
    expect(first).toBe("Bearer tok1");
    expect(auth.handleUnauthorized([bearer], SCOPE, first)).toBe(true);
    expect(await auth.authorization(SCOPE)).toBe("Bearer tok2");
    // Anonymous token requests carry no Authorization.
    expect(server.requests[0]!.headers).toEqual({});
  });

  it("exchanges an identity token by OAuth2 POST", async () => {
    const { clock } = fakeClock();
    const server = tokenServer(() => ({ status: 200, body: { access_token: "oauth" } }));
    const auth = authenticator({ identityToken: "refresh-me" }, server.requestToken, new TokenCache(clock));
    auth.handleUnauthorized([bearer], SCOPE, undefined);
    expect(await auth.authorization(SCOPE)).toBe("Bearer oauth");
    const body = new URLSearchParams(server.requests[0]!.body);
    expect(server.requests[0]!.method).toBe("POST");
    expect(Object.fromEntries(body)).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh-me",
      client_id: "berth",
      service: "reg.example.com",
      scope: SCOPE,
    });
  });

  it("answers a Basic challenge with the credentials, once", async () => {
    const { clock } = fakeClock();
    const server = tokenServer(() => ({ status: 500, body: {} }));
    const auth = authenticator(
      { username: "bob", password: "pw" },
      server.requestToken,
      new TokenCache(clock),
    );
    const basic: AuthChallenge = { scheme: "basic", params: { realm: "r" } };
    expect(auth.handleUnauthorized([basic], SCOPE, undefined)).toBe(true);
    const header = await auth.authorization(SCOPE);
    expect(header).toBe(`Basic ${Buffer.from("bob:pw").toString("base64")}`);
    expect(auth.handleUnauthorized([basic], SCOPE, header)).toBe(false);
    // Without credentials there is nothing to answer Basic with.
    const anonymous = authenticator(undefined, server.requestToken, new TokenCache(clock));
    expect(anonymous.handleUnauthorized([basic], SCOPE, undefined)).toBe(false);
  });

  it("sends a registry token as is and never asks a token server", async () => {
    const { clock } = fakeClock();
    const server = tokenServer(() => ({ status: 200, body: { token: "x" } }));
    const auth = authenticator({ registryToken: "given" }, server.requestToken, new TokenCache(clock));
    expect(await auth.authorization(SCOPE)).toBe("Bearer given");
    expect(auth.handleUnauthorized([bearer], SCOPE, "Bearer given")).toBe(false);
    expect(server.requests).toEqual([]);
  });

  it("refuses a plain HTTP realm for an HTTPS registry, and reports refused credentials without the secret", async () => {
    const { clock } = fakeClock();
    const server = tokenServer(() => ({ status: 401, body: {} }));
    const httpRealm: AuthChallenge = { scheme: "bearer", params: { realm: "http://auth.example.com/token" } };
    const auth = authenticator(
      { username: "alice", password: "topsecret" },
      server.requestToken,
      new TokenCache(clock),
    );
    auth.handleUnauthorized([httpRealm], SCOPE, undefined);
    await expect(auth.authorization(SCOPE)).rejects.toThrow(/not HTTPS/);
    expect(server.requests).toEqual([]);

    auth.handleUnauthorized([bearer], SCOPE, undefined);
    const err = await auth.authorization(SCOPE).catch((e: Error) => e);
    expect(err).toBeInstanceOf(RegistryRequestError);
    expect((err as RegistryRequestError).kind).toBe("denied");
    expect((err as Error).message).toContain('user "alice"');
    expect((err as Error).message).not.toContain("topsecret");
  });
});
