/**
 * Which specs a change touches, computed against real temporary git repositories: what the
 * commits say, never the working tree.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findSpecChanges, type SpecChange } from '../../gitops/changes.ts';
import { NULL_SHA, parseNameStatus } from '../../gitops/git.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { createModelRepo, exampleSpecYaml, readerOf } from './helpers.ts';

let repo: TempRepo;
let base: string;

const iris = (version: 'v1' | 'v2', name = 'iris') => exampleSpecYaml({ name, dataset: 'iris', version });

beforeEach(async () => {
  repo = await createModelRepo();
  await repo.write('specs/iris.yaml', iris('v1'));
  await repo.write('specs/other.yaml', iris('v1', 'other'));
  base = await repo.commit('base');
});

afterEach(async () => {
  await repo.remove();
});

/** The changes between `base` and HEAD, reduced to what each test looks at. */
async function changes(specsDir?: string): Promise<{ change: string; path: string; extra?: unknown }[]> {
  const set = await findSpecChanges({
    reader: await readerOf(repo),
    base,
    head: 'HEAD',
    ...(specsDir ? { specsDir } : {}),
  });
  return set.changes.map(summarize);
}

function summarize(change: SpecChange): { change: string; path: string; extra?: unknown } {
  switch (change.change) {
    case 'added':
      return change.renamedFrom
        ? { change: 'added', path: change.path, extra: { renamedFrom: change.renamedFrom } }
        : { change: 'added', path: change.path };
    case 'removed':
      return change.renamedTo
        ? { change: 'removed', path: change.path, extra: { renamedTo: change.renamedTo } }
        : { change: 'removed', path: change.path };
    case 'modified':
      return {
        change: 'modified',
        path: change.path,
        extra: { reasons: change.reasons, changedFiles: change.changedFiles },
      };
  }
}

describe('findSpecChanges', () => {
  it('finds added, modified and removed specs, sorted by path', async () => {
    await repo.write('specs/iris.yaml', iris('v2'));
    // Short and unlike the removed spec, so git sees no rename.
    await repo.write(
      'specs/new/bc.yml',
      'apiVersion: modelship.dev/v1\nkind: ModelDeployment\nmetadata: {}\n',
    );
    await repo.git.rm('specs/other.yaml');
    await repo.commit('change');
    expect(await changes()).toEqual([
      { change: 'modified', path: 'specs/iris.yaml', extra: { reasons: ['spec'], changedFiles: [] } },
      { change: 'added', path: 'specs/new/bc.yml' },
      { change: 'removed', path: 'specs/other.yaml' },
    ]);
  });

  it('reports a rename as a removal and an addition that name each other', async () => {
    await repo.git.mv('specs/iris.yaml', 'specs/iris-classifier.yaml');
    await repo.commit('move');
    expect(await changes()).toEqual([
      { change: 'added', path: 'specs/iris-classifier.yaml', extra: { renamedFrom: 'specs/iris.yaml' } },
      { change: 'removed', path: 'specs/iris.yaml', extra: { renamedTo: 'specs/iris-classifier.yaml' } },
    ]);
  });

  it('ignores YAML that is not a ModelDeployment, JSON, and files outside the specs folder', async () => {
    await repo.write('specs/policy.yaml', 'apiVersion: modelship.dev/v1\nkind: ScanPolicy\nallow: []\n');
    await repo.write('specs/modeldeployment.schema.json', '{"changed": true}\n');
    await repo.write('config/iris.yaml', iris('v2', 'elsewhere'));
    await repo.commit('noise');
    expect(await changes()).toEqual([]);
  });

  it('still counts a spec whose YAML is broken, by its kind line', async () => {
    await repo.write('specs/iris.yaml', `${iris('v1')}  rollout: [unclosed\n`);
    await repo.commit('break it');
    expect(await changes()).toEqual([
      { change: 'modified', path: 'specs/iris.yaml', extra: { reasons: ['spec'], changedFiles: [] } },
    ]);
  });

  it('counts an unchanged spec whose model file or holdout changed', async () => {
    await repo.copyFromProject('models/iris/v2/model.onnx', 'models/iris/v1/model.onnx');
    await repo.commit('swap the model bytes under the same path');
    expect(await changes()).toEqual([
      {
        change: 'modified',
        path: 'specs/iris.yaml',
        extra: { reasons: ['model'], changedFiles: ['models/iris/v1/model.onnx'] },
      },
      {
        change: 'modified',
        path: 'specs/other.yaml',
        extra: { reasons: ['model'], changedFiles: ['models/iris/v1/model.onnx'] },
      },
    ]);

    await repo.write('models/iris/holdout.csv', 'f0,f1,f2,f3,label\n1,2,3,4,0\n');
    await repo.write('specs/iris.yaml', iris('v2'));
    await repo.commit('new holdout and spec');
    const [first] = await changes();
    expect(first).toEqual({
      change: 'modified',
      path: 'specs/iris.yaml',
      // The spec now points at v2, which did not change: only the holdout is news.
      extra: { reasons: ['holdout', 'spec'], changedFiles: ['models/iris/holdout.csv'] },
    });
  });

  it('reads the commits, not the working tree', async () => {
    await repo.write('specs/iris.yaml', iris('v2'));
    await repo.write('specs/uncommitted.yaml', iris('v1', 'draft'));
    expect(await changes()).toEqual([]);
  });

  it('treats the null sha as "nothing before": every spec at head is added', async () => {
    base = NULL_SHA;
    expect(await changes()).toEqual([
      { change: 'added', path: 'specs/iris.yaml' },
      { change: 'added', path: 'specs/other.yaml' },
    ]);
  });

  it('honours another specs folder', async () => {
    await repo.write('deploy/iris.yaml', iris('v2'));
    await repo.commit('deploy folder');
    expect(await changes('deploy')).toEqual([{ change: 'added', path: 'deploy/iris.yaml' }]);
  });

  it('names an unknown ref (unknown-ref.test.ts covers the hints)', async () => {
    const reader = await readerOf(repo);
    await expect(findSpecChanges({ reader, base: 'no-such-ref', head: 'HEAD' })).rejects.toThrow(
      /unknown commit "no-such-ref" .*no such commit, branch or tag/,
    );
  });
});

describe('parseNameStatus', () => {
  it('reads statuses, renames and copies from -z output', () => {
    expect(
      parseNameStatus('M\0a.yaml\0A\0b.yaml\0D\0c.yaml\0R090\0d.yaml\0e.yaml\0C100\0f.yaml\0g.yaml\0'),
    ).toEqual([
      { status: 'modified', path: 'a.yaml' },
      { status: 'added', path: 'b.yaml' },
      { status: 'removed', path: 'c.yaml' },
      { status: 'renamed', from: 'd.yaml', path: 'e.yaml' },
      { status: 'added', path: 'g.yaml' },
    ]);
  });
});
