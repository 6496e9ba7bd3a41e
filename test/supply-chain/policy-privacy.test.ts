import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSpecError } from '../../specs/errors.ts';
import { parsePolicy } from '../../supply-chain/policy/load.ts';
import { defaultPolicy } from '../../supply-chain/policy/schema.ts';
import { REPO_ROOT } from '../activities/support.ts';

const head = 'apiVersion: modelship.dev/v1\nkind: EnvironmentPolicy\nmetadata: { environment: staging }\n';

describe('the policy privacy block', () => {
  it('refuses personal data in holdouts unless a policy says otherwise', async () => {
    expect(defaultPolicy('staging').privacy).toEqual({ holdout: 'refuse' });
    const parsed = parsePolicy(head, { environment: 'staging' });
    expect(parsed.ok && parsed.policy.privacy).toEqual({ holdout: 'refuse' });
    for (const environment of ['production', 'staging']) {
      const text = await readFile(join(REPO_ROOT, 'policies', `${environment}.yaml`), 'utf8');
      const committed = parsePolicy(text, { environment });
      expect(committed.ok && committed.policy.privacy.holdout).toBe('refuse');
    }
  });

  it('allows it when the policy says allow', () => {
    const parsed = parsePolicy(`${head}privacy: { holdout: allow }\n`, { environment: 'staging' });
    expect(parsed.ok && parsed.policy.privacy).toEqual({ holdout: 'allow' });
  });

  it('rejects anything else with a position', () => {
    const parsed = parsePolicy(`${head}privacy: { holdout: maybe }\n`, {
      environment: 'staging',
      file: 'policies/staging.yaml',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors.map(formatSpecError).join('\n')).toMatch(
      /^policies\/staging\.yaml:4:\d+ {2}privacy\.holdout: /,
    );
  });
});
