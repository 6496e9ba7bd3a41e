/**
 * Opening the pull request of a promotion through the Git host's API: a GitHub-style
 * `POST {api}/repos/{owner}/{repo}/pulls` (GitHub, GitHub Enterprise at `https://host/api/v3`,
 * and the hosts that speak the same API). The token comes from the environment, never from a flag
 * (a flag shows in the process list and the shell history).
 */

/** The pull request could not be opened: the host's answer, for the person who asked. */
export class PullRequestError extends Error {
  override readonly name = 'PullRequestError';
}

export interface PullRequestTarget {
  /** The API's base URL, e.g. https://api.github.com. */
  api: string;
  /** `owner/name`. */
  repository: string;
  token: string;
}

export interface PullRequestInput {
  title: string;
  body: string;
  /** The branch with the change. */
  head: string;
  /** The branch it should be merged into. */
  base: string;
}

/** `owner/name` of a GitHub-style remote URL (https or ssh), when it is one. */
export function repositoryOfRemote(url: string): string | undefined {
  const match = /[:/]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url.trim());
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** Opens the pull request; resolves to its web address. */
export async function openPullRequest(target: PullRequestTarget, input: PullRequestInput): Promise<string> {
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(target.repository)) {
    throw new PullRequestError(`"${target.repository}" is not a repository name of the form owner/name`);
  }
  const url = `${target.api.replace(/\/+$/, '')}/repos/${target.repository}/pulls`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${target.token}`,
        'content-type': 'application/json',
        'user-agent': 'modelship-promote',
      },
      body: JSON.stringify(input),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new PullRequestError(`could not reach ${url}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    // The host's own words (GitHub: `message`, `errors[].message`), cut short: never the token.
    let reason = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { message?: string; errors?: { message?: string }[] };
      reason = [parsed.message, ...(parsed.errors ?? []).map((e) => e.message)].filter(Boolean).join('; ');
    } catch {
      // Not JSON: the start of the text stands.
    }
    throw new PullRequestError(`${url} answered ${response.status}: ${reason}`);
  }
  const created = JSON.parse(text) as { html_url?: string; number?: number };
  return created.html_url ?? `${target.repository}#${created.number ?? '?'}`;
}
