import { describe, expect, it } from 'vitest';
import { approvalProblem, parseApproveInput } from '../../domain/approval.ts';

const pending = { stepIndex: 3, approvers: ['alice', 'bob'] };
const author = { name: 'Alice Liddell', email: 'alice@example.com' };

describe('who may approve', () => {
  it('accepts a listed approver, whatever the case of the name', () => {
    expect(
      approvalProblem({ approver: 'Bob', decision: 'approve' }, pending, { environment: 'staging' }),
    ).toBeUndefined();
  });

  it('refuses someone not listed, naming who is', () => {
    expect(
      approvalProblem({ approver: 'mallory', decision: 'approve' }, pending, { environment: 'staging' }),
    ).toBe('mallory is not an approver of this step (approvers: alice, bob)');
  });

  it('refuses the commit author approving their own change in production, by name, email or login', () => {
    for (const approver of ['alice', 'Alice Liddell', 'alice@example.com']) {
      const ctx = {
        environment: 'production',
        author: { ...author, name: approver === 'alice' ? 'alice' : author.name },
      };
      expect(
        approvalProblem({ approver, decision: 'approve' }, { ...pending, approvers: [approver, 'bob'] }, ctx),
      ).toMatch(/in production the commit's author .* cannot approve their own change/);
    }
  });

  it("follows the environment policy's four-eyes rule where there is one", () => {
    const approve = { approver: 'alice', decision: 'approve' as const };
    expect(approvalProblem(approve, pending, { environment: 'staging', author, fourEyes: true })).toBe(
      "in staging the commit's author (Alice Liddell <alice@example.com>) cannot approve their own change",
    );
    expect(
      approvalProblem(approve, pending, { environment: 'production', author, fourEyes: false }),
    ).toBeUndefined();
  });

  it('lets the author approve outside production, and reject their own change anywhere', () => {
    expect(
      approvalProblem({ approver: 'alice', decision: 'approve' }, pending, {
        environment: 'staging',
        author,
      }),
    ).toBeUndefined();
    expect(
      approvalProblem({ approver: 'alice', decision: 'reject' }, pending, {
        environment: 'production',
        author,
      }),
    ).toBeUndefined();
  });

  it('refuses whoever the verified origin names (who ran apply), under any verified identity of the approver', () => {
    const origin = {
      issuerName: 'github-actions',
      issuer: 'https://token.actions.githubusercontent.com',
      actor: 'bob-gh',
      alsoBy: ['carol-gh'],
      fingerprint: '0123456789abcdef',
    };
    const ctx = { environment: 'production', author, origin };
    expect(
      approvalProblem({ approver: 'bob', decision: 'approve' }, pending, {
        ...ctx,
        identities: ['bob@example.com', 'BOB-gh'],
      }),
    ).toBe(
      'in production bob-gh, who started this deployment (verified by github-actions), cannot approve it',
    );
    expect(
      approvalProblem({ approver: 'bob', decision: 'approve' }, pending, {
        ...ctx,
        identities: ['carol-gh'],
      }),
    ).toMatch(/cannot approve it/);
    // The commit's author is still compared through the verified identities too.
    expect(
      approvalProblem({ approver: 'bob', decision: 'approve' }, pending, {
        ...ctx,
        identities: ['alice@example.com'],
      }),
    ).toMatch(/the commit's author .* cannot approve their own change/);
    expect(
      approvalProblem({ approver: 'bob', decision: 'approve' }, pending, {
        ...ctx,
        identities: ['bob@example.com'],
      }),
    ).toBeUndefined();
  });

  it('refuses any decision when no approval is pending', () => {
    expect(
      approvalProblem({ approver: 'alice', decision: 'approve' }, undefined, { environment: 'staging' }),
    ).toBe('no approval is pending for this rollout right now');
  });

  it('says what is wrong with a malformed message', () => {
    expect(parseApproveInput({ approver: 'alice', decision: 'yes' })).toBe(
      'decision: must be "approve" or "reject", as in {"approver":"alice","decision":"approve"}',
    );
    expect(parseApproveInput({ decision: 'approve' })).toBe(
      'approver: must name who approves, as in {"approver":"alice","decision":"approve"}',
    );
    expect(parseApproveInput(null)).toBe(
      'expected one JSON object such as {"approver":"alice","decision":"approve"}, or the output of `modelship approve --print`, got null',
    );
    expect(parseApproveInput([])).toMatch(/got a list$/);
    // A signed approval is checked field by field, and an unsigned extra field is not let through.
    expect(parseApproveInput({ statement: {}, proof: {} })).toBe(
      'statement.type: must be "modelship.dev/approval/v1"',
    );
    expect(parseApproveInput({ statement: 'x' })).toMatch(/^statement: must be the JSON object/);
    expect(parseApproveInput({ approver: ' alice ', decision: 'reject', comment: 'too slow' })).toEqual({
      approver: 'alice',
      decision: 'reject',
      comment: 'too slow',
    });
  });
});
