/**
 * Runs secretlint's recommended preset over texts and turns its messages into masked findings
 * with 1-based positions.
 */
import { extname } from 'node:path';
import { lintSource } from '@secretlint/core';
import { secretLintProfiler } from '@secretlint/profiler';
import { textWindows } from './chunks.ts';
import { FINDINGS_CAPPED_RULE, lineStarts, positionAt, type SecretFinding } from './finding.ts';
import { maskAll, maskSecret } from './mask.ts';
import { SECRETLINT_CONFIG } from './rules.ts';

type LintMessage = Awaited<ReturnType<typeof lintSource>>['messages'][number];

/**
 * secretlint times every lint with a process-wide profiler that nothing here reads. Each text it
 * lints leaves 54 performance marks and 27 measures in Node's global timeline, never cleared, and
 * each new measure searches the marks already there: in a process that lives on, each scan costs
 * more than the one before (8.5 ms over the first thousand texts, 99 ms over the fourth thousand)
 * and the heap grows with it. A worker scans every model it deploys, so the profiler's marks are
 * switched off, once, for the whole process.
 */
secretLintProfiler.mark = () => {};

/**
 * Findings listed per text at most. A file with more is leaking wholesale; listing every one
 * would only slow the scan and flood the report, so the scan stops and says so.
 */
export const MAX_FINDINGS_PER_TEXT = 100;

/** Every string inside a message's `data`: what the rule quoted into its message. */
function quotedValues(data: unknown): string[] {
  if (typeof data === 'string') return [data];
  if (data === null || typeof data !== 'object') return [];
  return Object.values(data).flatMap(quotedValues);
}

/**
 * The secret's span in `text`. Usually the rule's range; but the AWS secret-key rule reports the
 * offset of the `aws_secret_access_key` name with the value's length, so when the range does
 * not hold what the rule quoted, the quoted value found from that offset on is the secret.
 */
function secretSpan(text: string, message: LintMessage): { start: number; end: number } {
  const [start, end] = message.range;
  const quoted = quotedValues(message.data);
  if (quoted.length === 0 || quoted.includes(text.slice(start, end))) return { start, end };
  for (const value of quoted) {
    const at = value.length > 0 ? text.indexOf(value, start) : -1;
    if (at !== -1) return { start: at, end: at + value.length };
  }
  return { start, end };
}

/**
 * secretlint's message with every secret masked: the located secret and each quoted value that
 * occurs in the text (descriptive values such as "GitHub personal access tokens" do not, and stay).
 */
function maskedMessage(text: string, message: LintMessage, secret: string): string {
  const secrets = [secret, ...quotedValues(message.data).filter((value) => text.includes(value))];
  const masked = maskAll(message.message, secrets);
  // Belt and braces: a rule that quoted the secret in some other shape gets a message of ours.
  return masked.includes(secret) ? `found a secret: ${maskSecret(secret)}` : masked;
}

async function lintWindow(path: string, content: string): Promise<LintMessage[]> {
  const result = await lintSource({
    source: { content, filePath: path, ext: extname(path), contentType: 'text' },
    // noPhysicFilePath: rules must judge the text we pass, never open files on disk themselves.
    options: { config: SECRETLINT_CONFIG, locale: 'en', noPhysicFilePath: true },
  });
  return result.messages;
}

/** A finding with the offset and clear text of its secret, for callers that must mask more. */
export interface LocatedFinding {
  offset: number;
  secret: string;
  finding: SecretFinding;
}

/**
 * Runs the preset over one text: findings by position, at most MAX_FINDINGS_PER_TEXT; `capped`
 * says where the scan stopped when the text held more.
 */
export async function locateSecrets(
  path: string,
  text: string,
): Promise<{ located: LocatedFinding[]; capped?: SecretFinding }> {
  const starts = lineStarts(text);
  const located: LocatedFinding[] = [];
  for (const window of textWindows(text)) {
    const content = text.slice(window.start, window.end);
    const inCore: LocatedFinding[] = [];
    for (const message of await lintWindow(path, content)) {
      const span = secretSpan(content, message);
      const offset = window.start + span.start;
      if (offset < window.coreStart || offset >= window.coreEnd) continue;
      const secret = content.slice(span.start, span.end);
      inCore.push({
        offset,
        secret,
        finding: {
          path,
          ...positionAt(starts, offset),
          ruleId: message.ruleId,
          message: maskedMessage(content, message, secret),
          masked: maskSecret(secret),
        },
      });
    }
    located.push(...inCore.sort((a, b) => a.offset - b.offset));
    const firstUnlisted = located[MAX_FINDINGS_PER_TEXT];
    if (firstUnlisted) {
      return {
        located: located.slice(0, MAX_FINDINGS_PER_TEXT),
        capped: {
          path,
          ...positionAt(starts, firstUnlisted.offset),
          ruleId: FINDINGS_CAPPED_RULE,
          message: `more than ${MAX_FINDINGS_PER_TEXT} secrets: the first ${MAX_FINDINGS_PER_TEXT} are listed, the rest of this text was not scanned`,
          masked: '',
        },
      };
    }
  }
  return { located };
}

/** Scans one text: its findings by position, then the capped marker if the scan stopped early. */
export async function scanText(path: string, text: string): Promise<SecretFinding[]> {
  const { located, capped } = await locateSecrets(path, text);
  const findings = located.map((entry) => entry.finding);
  return capped ? [...findings, capped] : findings;
}

/**
 * Scans each text with secretlint's recommended preset. Findings are grouped by file in the
 * order given, by position within a file; `path` is passed through as the finding's path.
 */
export async function scanTextsForSecrets(
  files: readonly { path: string; text: string }[],
): Promise<SecretFinding[]> {
  const findings: SecretFinding[] = [];
  for (const file of files) findings.push(...(await scanText(file.path, file.text)));
  return findings;
}
