/**
 * `audit verify`'s report as a person reads it: what was checked (rows, chain, checkpoints),
 * each stray row, each problem and warning, then one verdict line. Pure.
 */
import type { Finding, TableReport } from './census.ts';
import type { VerifyResult } from './chain.ts';
import { shortHash } from './format.ts';
import type { AuditVerifyReport, CheckpointReport } from './verify-log.ts';

/** The report's text: `stdout` always says what was checked; `stderr` has one line per problem. */
export interface VerifyText {
  stdout: string[];
  stderr: string[];
}

const label = (name: string) => `  ${name.padEnd(12)} `;

/** Renders a verify report. */
export function formatVerifyReport(report: AuditVerifyReport): VerifyText {
  const { chain, table, checkpoints } = report;
  const findings: Finding[] = [...(table?.findings ?? []), ...checkpoints.findings];
  const stdout = [
    `audit verify: ${report.source}`,
    `${label('rows')}${rowsLine(table)}`,
    `${label('chain')}${chainLine(chain)}`,
    `${label('checkpoints')}${checkpointsLine(checkpoints)}`,
    ...(table?.listed ?? []).map((row) => `${label('stray row')}seq ${row.seq}: ${row.reason}`),
    ...(table && table.strays > table.listed.length
      ? [`${label('stray rows')}and ${table.strays - table.listed.length} more`]
      : []),
    ...findings.map((finding) => `${label(finding.level)}${finding.message}`),
  ];
  if (report.ok && chain.ok) {
    stdout.push(`audit verify: ok, ${chain.count} records, head ${shortHash(chain.headHash)}`);
    return { stdout, stderr: [] };
  }
  const problems = [
    ...(chain.ok ? [] : [chain.reason]),
    ...(table && table.strays > 0 ? [straysProblem(table)] : []),
    ...findings.filter((finding) => finding.level === 'problem').map((finding) => finding.message),
  ];
  return { stdout, stderr: problems.map((problem) => `audit verify: FAILED: ${problem}`) };
}

function rowsLine(table: TableReport | undefined): string {
  if (!table) return 'a JSONL export: every line is read as a record of the chain';
  const range = table.minSeq === null ? '' : ` (seq ${table.minSeq} to ${table.maxSeq})`;
  const parts = [`${table.chained} in the chain`];
  if (table.strays > 0) parts.push(`${table.strays} outside it`);
  if (table.afterBreak > 0) parts.push(`${table.afterBreak} after its break, not verified`);
  if (table.appendedSince > 0) parts.push(`${table.appendedSince} appended while verifying`);
  return `${table.rows} in the table${range}: ${parts.join(', ')}`;
}

function chainLine(chain: VerifyResult): string {
  if (!chain.ok) return `broken: ${chain.reason}`;
  if (chain.count === 0) return 'empty';
  return `records 1 to ${chain.headSeq} verified, head ${shortHash(chain.headHash)}`;
}

function checkpointsLine(report: CheckpointReport): string {
  if (report.path === undefined) {
    return 'not checked (give --checkpoints FILE to hold this log against a writer’s checkpoints)';
  }
  if (!report.found) return `none (no file at ${report.path})`;
  if (report.total === 0) return `none yet in ${report.path}`;
  if (!report.key) return `${report.total} in ${report.path}, not checked (no key)`;
  const parts = [
    `${report.total} in ${report.path}, key ${shortHash(report.key.keyId)} (${report.key.path}): ${report.matched} match`,
  ];
  if (report.newest) parts.push(`the newest vouches for record ${report.newest.seq} (${report.newest.time})`);
  if (report.uncovered > 0) {
    parts.push(`${report.uncovered} record${report.uncovered === 1 ? '' : 's'} after it not covered yet`);
  }
  return parts.join('; ');
}

function straysProblem(table: TableReport): string {
  const first = table.listed[0];
  return `${table.strays} row${table.strays === 1 ? '' : 's'} outside the chain${first ? ` (first: ${first.reason})` : ''}`;
}
