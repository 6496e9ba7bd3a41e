/**
 * The parts of `apply` that must not reach Temporal: an invalid change stops before connecting,
 * and a change that removes a spec needs Temporal to retire its deployment.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyChanges } from '../../gitops/apply.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

let repo: TempRepo;
let base: string;

beforeAll(async () => {
  repo = await createModelRepo();
  await repo.write('specs/iris.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v1' }));
  await repo.write('specs/old.yaml', exampleSpecYaml({ name: 'old', dataset: 'iris', version: 'v1' }));
  base = await repo.commit('base');
});

afterEach(async () => {
  await repo.git.raw(['reset', '--hard', base]);
});

afterAll(async () => {
  await repo?.remove();
});

/** Applies with a client that must never be asked for. */
async function applyOffline(head: string) {
  const out: string[] = [];
  const err: string[] = [];
  const report = await applyChanges({
    reader: await readerOf(repo),
    repository: repo.root,
    base,
    head,
    connect: () => Promise.reject(new Error('apply reached for Temporal')),
    taskQueue: 'unused',
    out: (line) => out.push(line),
    err: (line) => err.push(line),
  });
  return { ...report, out, err };
}

describe('apply without Temporal', () => {
  it('lists every error and starts nothing when a changed spec is invalid', async () => {
    await repo.write('specs/iris.yaml', exampleSpecYaml({ dataset: 'iris', version: 'v2' }));
    await repo.write(
      'specs/broken.yaml',
      'apiVersion: modelship.dev/v1\nkind: ModelDeployment\nmetadata: { name: Broken }\n',
    );
    const head = await repo.commit('one good, one broken');
    const result = await applyOffline(head);
    expect(result.exitCode).toBe(1);
    expect(result.started).toEqual([]);
    expect(result.err).toEqual([
      'specs/broken.yaml:1:1  spec: missing required field',
      'specs/broken.yaml:3:11  metadata.owners: missing required field',
      'specs/broken.yaml:3:19  metadata.name: must be a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit',
    ]);
    expect(result.out.at(-1)).toBe('apply: nothing started: 1 invalid spec');
  });

  it('reaches for Temporal to retire the deployment of a removed spec', async () => {
    await repo.git.rm('specs/old.yaml');
    const head = await repo.commit('retire old');
    await expect(applyOffline(head)).rejects.toThrow('apply reached for Temporal');
  });
});
