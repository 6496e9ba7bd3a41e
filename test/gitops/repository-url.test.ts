/**
 * Which repository a run names: the operator's word first, then GitHub Actions' own repository,
 * then the checkout's origin without the credentials a remote URL may carry (they would reach
 * workflow inputs and the audit log), then the checkout's path. A URL the workers would refuse
 * fails the command, naming where it came from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryLine, repositoryUrl } from '../../gitops/repository-url.ts';
import { createTempRepo, type TempRepo } from '../support/git-repo.ts';

let repo: TempRepo;

beforeAll(async () => {
  repo = await createTempRepo('modelship-repository-url-');
  await repo.write('README.md', 'x\n');
  await repo.commit('first');
});

afterAll(async () => {
  await repo.remove();
});

const github = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'ml/models',
  GITHUB_SERVER_URL: 'https://github.example.com/',
};

describe('repositoryUrl', () => {
  it('falls back to the checkout path, and says only this machine can fetch it', async () => {
    const found = await repositoryUrl({ root: repo.root, env: {} });
    expect(found).toEqual({ url: repo.root, from: 'local checkout' });
    expect(repositoryLine('apply', found)).toContain('only a worker on this machine can fetch it');
  });

  it('takes the origin remote without its credentials', async () => {
    await repo.git.addRemote('origin', 'https://ci-bot:ghp_secret@git.example.com/ml/models.git');
    try {
      const found = await repositoryUrl({ root: repo.root, env: {} });
      expect(found).toEqual({ url: 'https://git.example.com/ml/models.git', from: 'origin' });
      expect(repositoryLine('apply', found)).not.toContain('ghp_secret');
    } finally {
      await repo.git.removeRemote('origin');
    }
  });

  it("prefers GitHub Actions' repository, then the environment, then the flag", async () => {
    expect(await repositoryUrl({ root: repo.root, env: github })).toEqual({
      url: 'https://github.example.com/ml/models.git',
      from: 'github-actions',
    });
    const env = { ...github, MODELSHIP_REPOSITORY_URL: 'ssh://git@git.example.com/ml/models.git' };
    expect((await repositoryUrl({ root: repo.root, env })).from).toBe('MODELSHIP_REPOSITORY_URL');
    expect(
      await repositoryUrl({ root: repo.root, env, flag: 'https://mirror.example.com/models.git' }),
    ).toEqual({
      url: 'https://mirror.example.com/models.git',
      from: 'flag',
    });
  });

  it('refuses a URL the workers would refuse, naming where it came from', async () => {
    await expect(
      repositoryUrl({ root: repo.root, env: {}, flag: '--upload-pack=touch /tmp/x' }),
    ).rejects.toThrow(/^--repository: .*option/);
    await expect(
      repositoryUrl({
        root: repo.root,
        env: { MODELSHIP_REPOSITORY_URL: 'git://git.example.com/models.git' },
      }),
    ).rejects.toThrow(/^MODELSHIP_REPOSITORY_URL: /);
  });

  it('refuses a URL carrying a token, which would be stored in the run and the audit log', async () => {
    const refused = repositoryUrl({
      root: repo.root,
      env: {},
      flag: 'https://ghp_secret@github.com/ml/models.git',
    });
    await expect(refused).rejects.toThrow(/credentials in it.*MODELSHIP_GIT_TOKEN/);
    await expect(refused).rejects.not.toThrow(/ghp_secret/);
    // A user name alone on ssh is how ssh URLs are written, not a secret.
    expect(
      (await repositoryUrl({ root: repo.root, env: {}, flag: 'ssh://git@git.example.com/ml/models.git' }))
        .url,
    ).toBe('ssh://git@git.example.com/ml/models.git');
  });
});
