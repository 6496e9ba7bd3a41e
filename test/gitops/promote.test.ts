/**
 * `promote` on a real repository with a real remote and a real audit log: the branch is pushed
 * and the pull request opened through the host's API, here a local HTTP server standing in for
 * GitHub's pulls endpoint (GitHub itself cannot be reached from the tests). The request carries
 * the token, the branches and the evidence; a refusal from the host is reported with its words,
 * after the push it could not undo.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditStore } from '../../audit/store.ts';
import { PromoteError, promote } from '../../gitops/promote.ts';
import { repositoryOfRemote } from '../../gitops/pull-request.ts';
import { verifiedRecordsOf } from '../../release/verified-records.ts';
import type { TempRepo } from '../support/git-repo.ts';
import { committedDigest } from '../support/model-catalog.ts';
import { createModelRepo, exampleSpecYaml, modelship } from './helpers.ts';

const V1 = committedDigest('models/iris/v1/model.onnx');
let repo: TempRepo;
let scratch: string;
let audit: AuditStore;
let host: Server;
let api: string;
const requests: { path: string; authorization: string; body: Record<string, unknown> }[] = [];
let answer: { status: number; body: unknown } = { status: 201, body: {} };

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'modelship-promote-'));
  const remote = join(scratch, 'acme', 'models.git');
  await mkdir(remote, { recursive: true });
  await simpleGit(remote).init(true);
  repo = await createModelRepo();
  await repo.write(
    'specs/iris-dev.yaml',
    exampleSpecYaml({ dataset: 'iris', version: 'v1', environment: 'dev' }),
  );
  await repo.write(
    'specs/iris-staging.yaml',
    exampleSpecYaml({
      dataset: 'iris',
      version: 'v2',
      environment: 'staging',
      analysis: '  promotion:\n    from: dev\n',
    }),
  );
  await repo.commit('iris in dev and staging');
  await repo.git.addRemote('origin', remote);
  await repo.git.push('origin', 'main');

  audit = await openAuditStore(join(scratch, 'home'));
  await audit.append({
    time: new Date(Date.now() - 3_600_000).toISOString(),
    kind: 'workflow.decision',
    model: 'iris',
    environment: 'dev',
    commit: 'c'.repeat(40),
    workflowId: 'deploy/dev/iris',
    runId: 'run-1',
    step: 'deployment.serving',
    actor: 'workflow',
    details: { version: 'aaaaaaaaaaaa', artifactSha256: V1 },
  });

  host = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        authorization: String(req.headers.authorization),
        body: JSON.parse(text),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await audit?.close();
  await repo?.remove();
  await new Promise<void>((resolve) => host?.close(() => resolve()));
  await rm(scratch, { recursive: true, force: true });
});

const promoteTo = async (branch: string) =>
  promote({
    root: repo.root,
    specsDir: 'specs',
    model: 'iris',
    from: 'dev',
    to: 'staging',
    records: await verifiedRecordsOf(audit, 'iris'),
    now: new Date(),
    branch,
    push: 'origin',
    pullRequest: { api, token: 'test-token-1234' },
  });

describe('promote --open-pr', () => {
  it('pushes the branch and opens the pull request with the evidence', async () => {
    answer = { status: 201, body: { number: 7, html_url: 'https://git.example.com/acme/models/pull/7' } };
    const result = await promoteTo('promote-iris-v1');
    expect(result.pullRequest).toBe('https://git.example.com/acme/models/pull/7');
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.path).toBe('/repos/acme/models/pulls');
    expect(request?.authorization).toBe('Bearer test-token-1234');
    expect(request?.body).toMatchObject({ head: 'promote-iris-v1', base: 'main' });
    expect(String(request?.body.title)).toBe(`promote iris sha256:${V1.slice(0, 12)} from dev to staging`);
    expect(String(request?.body.body)).toContain('passed dev: version aaaaaaaaaaaa serving there');
    // The branch is on the remote, with the commit.
    const remoteBranches = await simpleGit(join(scratch, 'acme', 'models.git')).branch();
    expect(remoteBranches.all).toContain('promote-iris-v1');
  });

  it("reports the host's refusal in its words, saying the branch was pushed", async () => {
    await repo.git.checkout('main');
    answer = {
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ message: 'A pull request already exists for acme:x.' }],
      },
    };
    const failure = await promoteTo('promote-iris-again').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PromoteError);
    expect((failure as Error).message).toContain(
      'committed and pushed promote-iris-again, but the pull request was not opened',
    );
    expect((failure as Error).message).toContain(
      'answered 422: Validation Failed; A pull request already exists',
    );
    expect((failure as Error).message).not.toContain('test-token-1234');
  });

  it('names owner/name from https and ssh remotes', () => {
    expect(repositoryOfRemote('https://github.com/acme/models.git')).toBe('acme/models');
    expect(repositoryOfRemote('git@github.com:acme/models.git')).toBe('acme/models');
    expect(repositoryOfRemote('https://github.com/acme/models')).toBe('acme/models');
  });

  it('asks for a token before doing anything', async () => {
    const run = await modelship(
      ['promote', 'iris', '--from', 'dev', '--to', 'staging', '--open-pr'],
      repo.root,
      {
        GITHUB_TOKEN: '',
        MODELSHIP_GIT_TOKEN: '',
      },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--open-pr needs a token in $GITHUB_TOKEN or $MODELSHIP_GIT_TOKEN');
  });
});
