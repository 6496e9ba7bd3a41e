/**
 * Signed checkpoints of the chain's head: written by the log's writer every N records and when
 * it closes, and held against the chain by verify. Truncating or rewriting the newest records
 * leaves a valid chain; only a checkpoint the writer signed, kept out of the log, catches it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointLine, signatureMatches, signCheckpoint } from '../../audit/checkpoint.ts';
import { checkpointsPathFor, readCheckpoints } from '../../audit/checkpoint-file.ts';
import { checkpointKeyPath, keyIdOf, loadTrustedKey, publicKeyPathOf } from '../../audit/checkpoint-key.ts';
import { openAuditStore } from '../../audit/open.ts';
import type { AuditRecord } from '../../audit/record.ts';
import { openSqliteAuditStore } from '../../audit/sqlite-store.ts';
import { verifyAuditStore } from '../../audit/verify-log.ts';
import { sampleEvent, tamper, tempDir } from './helpers.ts';

/** A home whose writer appended seven records, checkpointing every three, then stopped. */
async function homeWithCheckpoints(): Promise<{ home: string; records: AuditRecord[] }> {
  const home = await tempDir();
  const store = await openAuditStore(home, undefined, { checkpoints: { every: 3 } });
  const records: AuditRecord[] = [];
  for (let i = 1; i <= 7; i += 1) records.push(await store.append(sampleEvent({ activityId: String(i) })));
  await store.close();
  return { home, records };
}

async function verifyHome(home: string, keyPath = publicKeyPathOf(checkpointKeyPath(home))) {
  const store = await openSqliteAuditStore(join(home, 'audit.db'), { mustExist: true });
  try {
    return await verifyAuditStore(store, { checkpoints: { path: checkpointsPathFor(home), keyPath } });
  } finally {
    await store.close();
  }
}

const problems = (report: Awaited<ReturnType<typeof verifyHome>>) =>
  report.checkpoints.findings
    .filter((finding) => finding.level === 'problem')
    .map((finding) => finding.message);

describe('audit checkpoints', () => {
  it('the writer signs one every N records and one when it closes; verify matches them all', async () => {
    const { home, records } = await homeWithCheckpoints();
    const entries = (await readCheckpoints(checkpointsPathFor(home))) ?? [];
    const checkpoints = entries.map((entry) => ('checkpoint' in entry ? entry.checkpoint : undefined));
    expect(checkpoints.map((checkpoint) => [checkpoint?.seq, checkpoint?.hash])).toEqual(
      [3, 6, 7].map((seq) => [seq, records[seq - 1]?.hash]),
    );
    const trusted = await loadTrustedKey(publicKeyPathOf(checkpointKeyPath(home)));
    expect(
      checkpoints.every((checkpoint) => checkpoint && signatureMatches(checkpoint, trusted.publicKey)),
    ).toBe(true);

    const report = await verifyHome(home);
    expect(report).toMatchObject({
      ok: true,
      chain: { ok: true, count: 7 },
      checkpoints: { found: true, total: 3, matched: 3, newest: { seq: 7 }, uncovered: 0, findings: [] },
    });
  });

  it('truncating the newest records is reported with the number of records missing', async () => {
    const { home } = await homeWithCheckpoints();
    tamper(join(home, 'audit.db'), 'DELETE FROM audit_log WHERE seq > 4');
    const report = await verifyHome(home);
    // The chain that is left verifies; the checkpoints say it used to be longer.
    expect(report.chain).toMatchObject({ ok: true, count: 4 });
    expect(report.ok).toBe(false);
    expect(problems(report)).toEqual([
      expect.stringMatching(
        /^checkpoint at line 2: signed at \S+ for record 6, but the log ends at record 4: 2 records missing \(truncated\)$/,
      ),
      expect.stringMatching(
        /^checkpoint at line 3: .* for record 7, but the log ends at record 4: 3 records missing \(truncated\)$/,
      ),
    ]);
  });

  it('a tail rewritten through the store, a valid chain again, differs from the signed hashes', async () => {
    const { home } = await homeWithCheckpoints();
    const path = join(home, 'audit.db');
    tamper(path, 'DELETE FROM audit_log WHERE seq > 5');
    const forger = await openSqliteAuditStore(path);
    await forger.append(sampleEvent({ activityId: '6', actor: 'worker:forger' }));
    await forger.append(sampleEvent({ activityId: '7', actor: 'worker:forger' }));
    await forger.close();
    const report = await verifyHome(home);
    expect(report.chain).toMatchObject({ ok: true, count: 7 });
    expect(problems(report)).toEqual([
      expect.stringMatching(
        /^checkpoint at line 2: record 6 has hash [0-9a-f]{12}, but the checkpoint signed at \S+ says [0-9a-f]{12} \(the log was rewritten at or before record 6\)$/,
      ),
      expect.stringMatching(/^checkpoint at line 3: record 7 has hash/),
    ]);
  });

  it('a checkpoint forged with another key, an altered one and a garbled line are each reported', async () => {
    const { home, records } = await homeWithCheckpoints();
    const file = checkpointsPathFor(home);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    // Whoever cannot sign with the writer's key can only write lines that fail.
    const { privateKey } = generateKeyPairSync('ed25519');
    const forged = signCheckpoint(
      { seq: 9, hash: 'f'.repeat(64) },
      { privateKey, keyId: keyIdOf(privateKey) },
    );
    const altered: Checkpoint = {
      ...(JSON.parse(lines[2] ?? '') as Checkpoint),
      seq: 5,
      hash: records[4]?.hash ?? '',
    };
    await writeFile(
      file,
      `${[...lines, checkpointLine(forged), checkpointLine(altered), '{"seq":'].join('\n')}\n`,
    );

    const report = await verifyHome(home);
    expect(report.ok).toBe(false);
    expect(report.checkpoints).toMatchObject({ total: 6, matched: 3 });
    expect(problems(report)).toEqual([
      expect.stringMatching(
        /^checkpoint at line 4 is signed by key [0-9a-f]{12}, not by the trusted key [0-9a-f]{12}$/,
      ),
      'checkpoint at line 5: the signature does not verify (checkpoint forged or altered)',
      expect.stringMatching(/^checkpoint at line 6 is not a checkpoint: not valid JSON/),
    ]);
  });

  it('no checkpoint file is a warning, not silence; checkpoints without their public key are a problem', async () => {
    const home = await tempDir();
    const bare = await openAuditStore(home, undefined, { checkpoints: false });
    await bare.append(sampleEvent());
    await bare.close();
    const missing = await verifyHome(home);
    expect(missing).toMatchObject({ ok: true, checkpoints: { found: false } });
    expect(missing.checkpoints.findings).toEqual([
      {
        level: 'warning',
        message: expect.stringMatching(
          /^no checkpoint file at .*: truncation of the newest records cannot be detected/,
        ),
      },
    ]);

    const signed = await homeWithCheckpoints();
    await rm(publicKeyPathOf(checkpointKeyPath(signed.home)));
    const keyless = await verifyHome(signed.home);
    expect(keyless.ok).toBe(false);
    expect(problems(keyless)).toEqual([
      expect.stringMatching(
        /^cannot check the 3 checkpoints: no public key at .* \(give the writer's public key with --checkpoint-key\)$/,
      ),
    ]);
  });

  it('a checkpoint that cannot be written is a warning and never fails the append', async () => {
    const home = await tempDir();
    // A directory where the file should be: every write fails.
    const path = join(home, 'not-a-file');
    await mkdir(path);
    const warnings: string[] = [];
    const listener = (warning: Error) => warnings.push(warning.message);
    process.on('warning', listener);
    try {
      const store = await openAuditStore(home, undefined, { checkpoints: { path, every: 1 } });
      expect((await store.append(sampleEvent())).seq).toBe(1);
      await store.close();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    expect(warnings[0]).toMatch(/^could not write the audit checkpoint of record 1 to .*not-a-file/);
  });
});
