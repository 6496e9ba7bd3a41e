/**
 * For the live-statistics and input-quality tests: the iris holdout's reference profile as
 * packaging makes it (`profileHoldout`), and a reader of Prometheus sample lines.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseReferenceProfile, type ReferenceProfile } from '../../domain/reference-profile.ts';
import { parseHoldoutCsv } from '../../model/holdout.ts';
import { profileHoldout } from '../../model/profile.ts';
import { repoPath } from '../support/paths.ts';

const HOLDOUT = 'models/iris/holdout.csv';

/** The reference profile of the iris holdout against input "input", checked by the contract's parser. */
export async function irisProfile(): Promise<ReferenceProfile> {
  const text = await readFile(repoPath(HOLDOUT), 'utf8');
  const parsed = parseHoldoutCsv(text, 'label', HOLDOUT);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const profile = profileHoldout({
    holdout: parsed.data,
    // The true labels stand in for predictions: these tests are about the inputs.
    predictions: parsed.data.labels,
    inputName: 'input',
    holdoutPath: HOLDOUT,
    holdoutSha256: createHash('sha256').update(text).digest('hex'),
    metrics: { accuracy: 1 },
  });
  const checked = parseReferenceProfile(profile);
  if (!checked.ok) throw new Error(checked.errors.join('\n'));
  return checked.profile;
}

/** The value of the one sample line of `name` with exactly these labels, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${wanted}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
