/**
 * The OIDC token `apply` and `deploy` present as the deployment's origin, so the worker can verify
 * who started it (`supply-chain/identity/verify-origin.ts`):
 *
 * - `MODELSHIP_ORIGIN_TOKEN`: a token given outright (another CI system's, a company SSO's);
 * - in GitHub Actions with `permissions: id-token: write`: the job's own token, requested from
 *   `ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, for the audience
 *   `MODELSHIP_OIDC_AUDIENCE` (default `modelship`), which the policy's issuer must name.
 *
 * No token is not an error here: whether a deployment needs one is the environment's policy,
 * judged by the worker.
 */
import { z } from 'zod';

/** The audience a GitHub Actions token is requested for, unless MODELSHIP_OIDC_AUDIENCE says otherwise. */
export const DEFAULT_OIDC_AUDIENCE = 'modelship';

const GitHubTokenAnswer = z.looseObject({ value: z.string().min(1) });

/** The origin token from `env`, or undefined when there is none to present. */
export async function originTokenFrom(
  env: NodeJS.ProcessEnv,
  fetchImpl: typeof fetch = fetch,
): Promise<string | undefined> {
  const given = env.MODELSHIP_ORIGIN_TOKEN?.trim();
  if (given) return given;
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) return undefined;
  const audience = env.MODELSHIP_OIDC_AUDIENCE?.trim() || DEFAULT_OIDC_AUDIENCE;
  const request = new URL(url);
  request.searchParams.set('audience', audience);
  const response = await fetchImpl(request, {
    headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    throw new Error(
      `GitHub Actions refused an OIDC token (HTTP ${response.status}): does the job have \`permissions: id-token: write\`?`,
    );
  }
  const answer = GitHubTokenAnswer.safeParse(await response.json());
  if (!answer.success) throw new Error('GitHub Actions answered the OIDC token request without a token');
  return answer.data.value;
}
