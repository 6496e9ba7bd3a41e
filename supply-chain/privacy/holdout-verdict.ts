/**
 * What the environment's policy makes of personal data in a holdout (`privacy.holdout`): refused
 * with a message that lists the findings masked, or let through and recorded masked. One
 * judgement for the validate activity (which throws PersonalDataFound) and `plan` (which reports
 * it at the spec's holdout path), so the pull request refuses what the worker would.
 */
import type { HoldoutData } from '../../model/holdout.ts';
import type { HoldoutPrivacyRecord } from '../../model/validation-report.ts';
import type { HoldoutPrivacy } from '../policy/schema.ts';
import {
  classifyCell,
  formatPersonalDataFinding,
  type PersonalDataScan,
  scanCsvForPersonalData,
} from './holdout-pii.ts';

export type HoldoutPrivacyVerdict =
  | {
      refused: false /** Present when findings were let through by `allow`. */;
      record?: HoldoutPrivacyRecord;
    }
  | { refused: true; message: string; scan: PersonalDataScan };

/** Scans the holdout's text and judges it by the policy; see the module comment. */
export function judgeHoldoutPrivacy(
  csv: string,
  path: string,
  policy: HoldoutPrivacy,
): HoldoutPrivacyVerdict {
  const scan = scanCsvForPersonalData(csv);
  if (scan.total === 0) return { refused: false };
  if (policy === 'allow') {
    return {
      refused: false,
      record: {
        policy: 'allow',
        findings: scan.findings,
        total: scan.total,
        byKind: scan.byKind,
        complete: scan.complete,
      },
    };
  }
  const unlisted = scan.total - scan.findings.length;
  return {
    refused: true,
    scan,
    message:
      `holdout "${path}" holds personal data (${scan.total} value(s)): ${scan.findings.map(formatPersonalDataFinding).join('; ')}${unlisted > 0 ? `; and ${unlisted} more` : ''}. ` +
      'Remove or anonymise those columns (hash or drop identifiers; the model should not need them), ' +
      'or, if this environment may evaluate on such data, set `privacy: { holdout: allow }` in its policy (policies/<environment>.yaml).',
  };
}

/** The holdout with personal data in its slice columns masked: slice values go into reports. */
export function maskHoldoutSlices(data: HoldoutData): HoldoutData {
  if (!data.slices) return data;
  return {
    ...data,
    slices: data.slices.map((slice) => ({
      ...slice,
      values: slice.values.map((value) => classifyCell(value)?.masked ?? value),
    })),
  };
}
