// Authentication to a registry endpoint. The first request goes out anonymously; a 401 names
// the scheme the registry wants. Basic: the credentials go with every request. Bearer: a token
// for the scope ("repository:<name>:pull") is fetched from the challenge's realm, with the
// credentials (Basic) or an identity token (OAuth2 refresh token), and cached per realm,
// service, scope and credentials until it expires. What a host wants is remembered, so later
// requests carry their authorization from the start.
import type { Clock } from "../../../common/clock.js";
import type { AuthChallenge } from "./auth-challenge.js";
import { credentialsFingerprint, describeCredentials, type RegistryCredentials } from "./credentials.js";
import { RegistryRequestError } from "./registry-error.js";

const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** Tokens are renewed this long before they expire, so none runs out in flight. */
const EXPIRY_MARGIN_MS = 5_000;
/** The distribution token spec: a token without expires_in lives 60 s. */
const DEFAULT_TOKEN_LIFETIME_S = 60;
const CLIENT_ID = "berth";

export class TokenCache {
  private readonly entries = new Map<string, { token: string; expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 512,
  ) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.clock.now() >= entry.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.token;
  }

  set(key: string, token: string, lifetimeMs: number): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { token, expiresAt: this.clock.now() + lifetimeMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The cached token, or one fetched once however many requests ask at the same moment. */
  async getOrFetch(
    key: string,
    fetch: () => Promise<{ token: string; lifetimeMs: number }>,
  ): Promise<string> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    let inFlight = this.pending.get(key);
    if (!inFlight) {
      inFlight = fetch()
        .then(({ token, lifetimeMs }) => {
          this.set(key, token, lifetimeMs);
          return token;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, inFlight);
    }
    return inFlight;
  }
}

/** Sends a small request to a token endpoint (retrying passing failures) and reads the reply. */
export type TokenRequest = (req: {
  method: "GET" | "POST";
  url: URL;
  headers: Record<string, string>;
  body?: Buffer;
}) => Promise<{ status: number; body: Buffer }>;

export interface RegistryAuthenticatorOptions {
  /** The endpoint's host[:port], the key of what it wants. */
  host: string;
  credentials: RegistryCredentials | undefined;
  tokens: TokenCache;
  /** Challenges learned per host, shared by every pull. */
  challenges: Map<string, AuthChallenge>;
  requestToken: TokenRequest;
  /** The endpoint is plain HTTP (configured insecure), so a plain HTTP realm is acceptable. */
  insecure: boolean;
}

export class RegistryAuthenticator {
  constructor(private readonly opts: RegistryAuthenticatorOptions) {}

  get credentials(): RegistryCredentials | undefined {
    return this.opts.credentials;
  }

  /** The Authorization header for a request needing `scope`, if one is known to be needed. */
  async authorization(scope: string): Promise<string | undefined> {
    const creds = this.opts.credentials;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const challenge = this.opts.challenges.get(this.opts.host);
    if (!challenge) return undefined;
    if (challenge.scheme === "basic") return basicHeader(creds);
    if (challenge.scheme === "bearer") {
      const token = await this.opts.tokens.getOrFetch(this.tokenKey(challenge, scope), () =>
        this.fetchToken(challenge, scope),
      );
      return `Bearer ${token}`;
    }
    return undefined;
  }

  /**
   * Learns from a 401 what the host wants. True when sending the request again with fresh
   * authorization may succeed; a token that was sent and refused is dropped from the cache.
   */
  handleUnauthorized(challenges: AuthChallenge[], scope: string, sent: string | undefined): boolean {
    if (this.opts.credentials?.registryToken) return false;
    const challenge =
      challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
    if (!challenge) return false;
    this.opts.challenges.set(this.opts.host, challenge);
    if (challenge.scheme === "basic") {
      const header = basicHeader(this.opts.credentials);
      return header !== undefined && header !== sent;
    }
    const key = this.tokenKey(challenge, scope);
    const cached = this.opts.tokens.get(key);
    if (cached !== undefined && sent === `Bearer ${cached}`) this.opts.tokens.delete(key);
    return true;
  }

  private tokenKey(challenge: AuthChallenge, scope: string): string {
    const { realm = "", service = "" } = challenge.params;
    return [realm, service, scope, credentialsFingerprint(this.opts.credentials)].join("|");
  }

  private async fetchToken(
    challenge: AuthChallenge,
    scope: string,
  ): Promise<{ token: string; lifetimeMs: number }> {
    const { realm, service } = challenge.params;
    if (!realm)
      throw new RegistryRequestError("invalid", `${this.opts.host} asked for a token but named no realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryRequestError("invalid", `${this.opts.host} named a token realm that is not a URL`);
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && this.opts.insecure)) {
      throw new RegistryRequestError(
        "invalid",
        `${this.opts.host} named token realm ${url.origin}, which is not HTTPS; refusing to send credentials there`,
      );
    }
    const creds = this.opts.credentials;
    let response: { status: number; body: Buffer };
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: CLIENT_ID,
        ...(service ? { service } : {}),
        ...(scope ? { scope } : {}),
      });
      response = await this.opts.requestToken({
        method: "POST",
        url,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service) url.searchParams.set("service", service);
      if (scope) url.searchParams.append("scope", scope);
      const basic = basicHeader(creds);
      response = await this.opts.requestToken({
        method: "GET",
        url,
        headers: basic ? { authorization: basic } : {},
      });
    }
    const who = describeCredentials(creds);
    if (response.status === 401 || response.status === 403) {
      throw new RegistryRequestError(
        "denied",
        `token server ${url.origin} refused ${who} for ${scope} (HTTP ${response.status})`,
        response.status,
      );
    }
    if (response.status !== 200) {
      throw new RegistryRequestError(
        response.status === 429 || response.status >= 500 ? "transient" : "invalid",
        `token server ${url.origin} answered HTTP ${response.status}`,
        response.status,
      );
    }
    if (response.body.byteLength > MAX_TOKEN_RESPONSE_BYTES) {
      throw new RegistryRequestError("invalid", `token server ${url.origin} sent an oversized reply`);
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(response.body.toString("utf8")) as typeof parsed;
    } catch {
      throw new RegistryRequestError("invalid", `token server ${url.origin} sent a reply that is not JSON`);
    }
    const token = typeof parsed.token === "string" && parsed.token ? parsed.token : parsed.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryRequestError("invalid", `token server ${url.origin} sent no token`);
    }
    const expiresIn =
      typeof parsed.expires_in === "number" && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    return { token, lifetimeMs: Math.max(expiresIn * 500, expiresIn * 1000 - EXPIRY_MARGIN_MS) };
  }
}

function basicHeader(creds: RegistryCredentials | undefined): string | undefined {
  if (creds?.username === undefined) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ""}`).toString("base64")}`;
}
