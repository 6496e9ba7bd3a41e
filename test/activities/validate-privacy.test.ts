/**
 * The personal-data gate of validation, with the real validate activity, the committed iris
 * model and the committed iris holdout with a column of contacts added: refused by default with
 * the findings masked, recorded masked when the policy allows such a holdout.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactActivities, type ResolvedArtifact } from '../../activities/artifact.ts';
import { FailureType } from '../../activities/failures.ts';
import { createValidateActivities } from '../../activities/validate.ts';
import type { ValidationSpec } from '../../specs/schema.ts';
import {
  deploymentRef,
  detailsOf,
  directoryTrees,
  exampleInterface,
  expectDomainFailure,
  REPO_ROOT,
  tempDir,
  testSources,
  version,
} from './support.ts';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';

describe('validateModel on a holdout with personal data', () => {
  let home: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let artifact: ResolvedArtifact;
  let validateModel: ReturnType<typeof createValidateActivities>['validateModel'];

  /** Validation of iris with `contact` read as a slice column, the one way text reaches a report. */
  const validation = (sliced = true): ValidationSpec => ({
    holdout: { path: 'holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
    metrics: { accuracy: { min: 0.85 } },
    ...(sliced ? { slices: [{ column: 'contact', minRows: 1000 }] } : {}),
  });

  beforeAll(async () => {
    home = await tempDir('validate-privacy');
    repo = join(home.path, 'repo');
    await mkdir(repo, { recursive: true });
    // The committed iris holdout with a `contact` column: mostly "none", one email, one card.
    const [header, ...lines] = (await readFile(join(REPO_ROOT, 'models/iris/holdout.csv'), 'utf8'))
      .trim()
      .split('\n');
    const contacts = lines.map((line, i) => `${line},${i === 4 ? EMAIL : i === 9 ? CARD : 'none'}`);
    await writeFile(join(repo, 'holdout.csv'), `${header},contact\n${contacts.join('\n')}\n`);
    const model = version('iris', 'v1');
    const { resolveArtifact } = createArtifactActivities({ home: home.path, trees: directoryTrees() });
    artifact = await resolveArtifact({
      deployment: deploymentRef(),
      source: model.path,
      sha256: model.sha256,
    });
    ({ validateModel } = createValidateActivities({ home: home.path, ...testSources(home.path) }));
  });
  afterAll(async () => {
    await home.remove();
  });

  it('is refused by default, the findings masked with row and column, the values nowhere', async () => {
    const failure = await expectDomainFailure(
      validateModel({
        deployment: deploymentRef(repo),
        artifact,
        interface: exampleInterface('iris'),
        validation: validation(),
      }),
      FailureType.PersonalDataFound,
    );
    expect(failure.message).toContain('holdout "holdout.csv" holds personal data (2 value(s))');
    expect(failure.message).toContain('email in row 5 (line 6), column "contact": j***@e***.com');
    expect(failure.message).toContain('card in row 10 (line 11), column "contact": **** **** **** 1111');
    expect(failure.message).toContain('privacy: { holdout: allow }');
    const printed = JSON.stringify({ message: failure.message, details: failure.details });
    expect(printed).not.toContain(EMAIL);
    expect(printed).not.toContain('jane.doe');
    expect(printed).not.toContain(CARD);
    expect(detailsOf<{ total: number }>(failure).total).toBe(2);
  });

  it('is refused when the policy says refuse, even before the reader would reject the text column', async () => {
    const failure = await expectDomainFailure(
      validateModel({
        deployment: deploymentRef(repo),
        artifact,
        interface: exampleInterface('iris'),
        validation: validation(false),
        holdoutPrivacy: 'refuse',
      }),
      FailureType.PersonalDataFound,
    );
    expect(failure.message).not.toContain(EMAIL);
  });

  it('passes when the policy allows it, with the findings and the slice groups masked in the report', async () => {
    const report = await validateModel({
      deployment: deploymentRef(repo),
      artifact,
      interface: exampleInterface('iris'),
      validation: validation(),
      holdoutPrivacy: 'allow',
    });
    expect(report.passed).toBe(true);
    expect(report.privacy?.holdout).toMatchObject({
      policy: 'allow',
      total: 2,
      byKind: { email: 1, card: 1 },
      complete: true,
    });
    expect(report.privacy?.holdout.findings.map((f) => [f.kind, f.row, f.column, f.masked])).toEqual([
      ['email', 5, 'contact', 'j***@e***.com'],
      ['card', 10, 'contact', '**** **** **** 1111'],
    ]);
    expect(report.analysis?.slices?.[0]?.groups.map((g) => g.value).sort()).toEqual(
      ['**** **** **** 1111', 'j***@e***.com', 'none'].sort(),
    );
    const printed = JSON.stringify(report);
    expect(printed).not.toContain(EMAIL);
    expect(printed).not.toContain(CARD);
  });

  it('masks the value in the reader error of an allowed holdout whose text column is not a slice', async () => {
    const failure = await expectDomainFailure(
      validateModel({
        deployment: deploymentRef(repo),
        artifact,
        interface: exampleInterface('iris'),
        validation: validation(false),
        holdoutPrivacy: 'allow',
      }),
      FailureType.InvalidHoldout,
    );
    expect(failure.message).toContain('"j***@e***.com" is not a number');
    expect(JSON.stringify({ message: failure.message, details: failure.details })).not.toContain(EMAIL);
  });

  it('lets the committed iris holdout through untouched: no privacy record', async () => {
    const report = await validateModel({
      deployment: deploymentRef(),
      artifact,
      interface: exampleInterface('iris'),
      validation: {
        holdout: { path: 'models/iris/holdout.csv', labelColumn: 'label', predictionOutput: 'label' },
        metrics: { accuracy: { min: 0.85 } },
      },
    });
    expect(report.passed).toBe(true);
    expect(report.privacy).toBeUndefined();
  });
});
