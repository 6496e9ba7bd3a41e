/**
 * Authentication to a registry, as the distribution spec and Docker's token spec describe it.
 * The client starts anonymous; the registry's first `401` says how to authenticate
 * (`WWW-Authenticate`), and from then on every request carries it:
 *
 * - `Basic realm=…`: the caller's username and password, on every request;
 * - `Bearer realm=…,service=…,scope=…`: a token from the realm, fetched with the caller's
 *   username and password (HTTP Basic) for the scope the request needs (`repository:<name>:pull`
 *   or `pull,push`), cached per scope until shortly before it expires.
 *
 * A caller holding a registry token already (`{ token }`) sends it as a Bearer token as is.
 * Credentials are the caller's (read from its configuration); nothing here reads the environment.
 * They go only to the registry's origin and to the realm its challenge names, and never to an
 * `http:` realm from an `https:` registry.
 */
import { z } from 'zod';
import { OciError } from './errors.ts';

/** Username and password (HTTP Basic, and for Bearer token requests), or a ready registry token. */
export type RegistryCredentials = { username: string; password: string } | { token: string };

interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses the first challenge of a `WWW-Authenticate` header (`Scheme k="v", k2=v2`). */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const pair = /\s*([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/gy;
  const rest = match?.[2] ?? '';
  pair.lastIndex = 0;
  for (let found = pair.exec(rest); found; found = pair.exec(rest)) {
    const [, key, quoted, bare] = found;
    if (key) params[key.toLowerCase()] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
  }
  return { scheme, params };
}

const TokenResponse = z.object({
  token: z.string().min(1).optional(),
  access_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
});

/** Tokens are used until this long before they expire. */
const EXPIRY_MARGIN_MS = 10_000;
/** The token spec's default lifetime when the answer gives none. */
const DEFAULT_TOKEN_SECONDS = 60;

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The authentication state of one registry client. */
export class RegistryAuth {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  /** The scope a Bearer challenge named for a request of our scope, asked for instead of ours. */
  private readonly challengedScopes = new Map<string, string>();

  constructor(
    private readonly registry: URL,
    private readonly credentials: RegistryCredentials | undefined,
    private readonly fetchImpl: typeof fetch,
    private readonly timeoutMs: number,
  ) {}

  /** `user <name>`, `a token` or `anonymous`, for messages (never the secret). */
  who(): string {
    if (!this.credentials) return 'anonymous';
    return 'token' in this.credentials ? 'a registry token' : `user ${this.credentials.username}`;
  }

  /** The `Authorization` header for a request needing `scope`, or undefined while none is known. */
  async header(scope: string): Promise<string | undefined> {
    if (this.credentials && 'token' in this.credentials) return `Bearer ${this.credentials.token}`;
    if (!this.challenge) return undefined;
    if (this.challenge.scheme === 'basic') {
      return this.credentials ? basic(this.credentials.username, this.credentials.password) : undefined;
    }
    const cached = this.tokens.get(scope);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
    return `Bearer ${await this.fetchToken(scope)}`;
  }

  /**
   * Learns from a `401` answer. Returns whether the request is worth sending again with the new
   * header (a first challenge, or a token that expired or lacked the scope); false means the
   * credentials themselves were refused.
   */
  learn(wwwAuthenticate: string | null, scope: string, alreadyRetried: boolean): boolean {
    const challenge = wwwAuthenticate ? parseChallenge(wwwAuthenticate) : undefined;
    if (!challenge || alreadyRetried) return false;
    if (this.credentials && 'token' in this.credentials) return false;
    const first = this.challenge === undefined || this.challenge.scheme !== challenge.scheme;
    this.challenge = challenge;
    if (challenge.scheme === 'basic') return first && this.credentials !== undefined;
    this.tokens.delete(scope);
    if (challenge.params.scope) this.challengedScopes.set(scope, challenge.params.scope);
    return true;
  }

  private async fetchToken(scope: string): Promise<string> {
    const params = this.challenge?.params ?? {};
    const realm = params.realm;
    const where = `token service of registry ${this.registry.origin}`;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new OciError(
        'unauthorized',
        `${where}: the challenge's realm ${JSON.stringify(realm)} is not a URL`,
      );
    }
    if (
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      (url.protocol === 'http:' && this.registry.protocol === 'https:')
    ) {
      throw new OciError(
        'unauthorized',
        `${where}: refusing the realm ${url.href} (https registry, ${url.protocol} realm)`,
      );
    }
    if (params.service) url.searchParams.set('service', params.service);
    const asked = this.challengedScopes.get(scope) ?? scope;
    url.searchParams.set('scope', asked);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials && 'username' in this.credentials) {
      headers.authorization = basic(this.credentials.username, this.credentials.password);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new OciError(
        'transient',
        `${where} at ${url.origin}${url.pathname} is unreachable: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      const kind =
        response.status === 401 || response.status === 403
          ? 'unauthorized'
          : response.status >= 500 || response.status === 429
            ? 'transient'
            : 'refused';
      throw new OciError(
        kind,
        `${where} at ${url.origin}${url.pathname} refused a token for ${asked} to ${this.who()}: HTTP ${response.status} ${text.slice(0, 200)}`,
        { status: response.status },
      );
    }
    let parsed: z.output<typeof TokenResponse> | undefined;
    try {
      parsed = TokenResponse.parse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    const value = parsed?.token ?? parsed?.access_token;
    if (!parsed || !value) {
      throw new OciError('unauthorized', `${where} answered without a token: ${text.slice(0, 200)}`);
    }
    const seconds = parsed.expires_in ?? DEFAULT_TOKEN_SECONDS;
    this.tokens.set(scope, { value, expiresAt: Date.now() + seconds * 1000 - EXPIRY_MARGIN_MS });
    return value;
  }
}
