/**
 * The secret gate: the spec's text, the model's doc_strings and metadata, and every text file of
 * the model directory, scanned with secretlint's preset; each finding masked and named by the
 * path a person would open (`specs/iris.yaml`, `models/iris/v2/README.md`).
 */
import { readFile } from 'node:fs/promises';
import { hasErrorCode } from '../../model/files.ts';
import { modelTexts } from '../../model/texts.ts';
import {
  formatSecretFinding,
  type SecretFinding,
  scanDirectoryForSecrets,
  scanModelTexts,
  scanTextsForSecrets,
} from '../secrets/index.ts';
import type { LocalModel } from './model-files.ts';
import type { GateVerdict } from './report.ts';

/** What the secret gate reads; each part is optional (`modelship scan` has no spec). */
export interface SecretSources {
  spec?: { path: string; text: string };
  /** The model (its texts) and its directory (its text files); absent when the model was not opened. */
  model?: { local: LocalModel; source: string };
}

export async function checkSecrets(
  sources: SecretSources,
): Promise<{ findings: SecretFinding[]; verdict: GateVerdict }> {
  const findings: SecretFinding[] = [];
  const scanned: string[] = [];
  if (sources.spec) {
    findings.push(...(await scanTextsForSecrets([sources.spec])));
    scanned.push('the spec');
  }
  const { model } = sources;
  if (model) {
    findings.push(...(await scanModelTexts(modelTexts(await readFile(model.local.modelFile), model.source))));
    scanned.push("the model's doc_strings and metadata");
    const { modelDir, dirLabel } = model.local;
    if (modelDir !== null) {
      const inDir = await scanDirectoryForSecrets(modelDir).catch((error: unknown) => {
        if (hasErrorCode(error, 'ENOENT')) return [];
        throw error;
      });
      for (const finding of inDir) {
        findings.push({ ...finding, path: dirLabel ? `${dirLabel}/${finding.path}` : finding.path });
      }
      scanned.push(`the text files of ${dirLabel || 'the repository root'}`);
    }
  }
  const verdict: GateVerdict =
    findings.length > 0
      ? {
          gate: 'secrets',
          status: 'failed',
          detail: `${findings.length} secret${findings.length === 1 ? '' : 's'} found (shown masked)`,
          findings: findings.map(formatSecretFinding),
        }
      : { gate: 'secrets', status: 'passed', detail: `none in ${joinWords(scanned)}`, findings: [] };
  return { findings, verdict };
}

function joinWords(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}
