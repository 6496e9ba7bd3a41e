/**
 * The audit log `plan` and `apply` judge quarantine and promotion evidence on, when this machine
 * can read one: MODELSHIP_AUDIT_URL (the shared PostgreSQL log, as in CI), or an audit.db under
 * MODELSHIP_HOME (a workstation next to `modelship dev`). Without one, the plan says what it could
 * not check, and DeployModel checks it after merge.
 */
import { existsSync } from 'node:fs';
import { defaultAuditPath } from '../audit/store.ts';
import type { ReleaseRecords } from '../gitops/plan.ts';
import { verifiedRecordsOf } from '../release/verified-records.ts';
import { openAuditReader } from './audit-reader.ts';

export interface OpenedReleaseRecords {
  records: ReleaseRecords;
  close(): Promise<void>;
}

export async function openReleaseRecords(): Promise<OpenedReleaseRecords | undefined> {
  const url = process.env.MODELSHIP_AUDIT_URL?.trim();
  if (!url && !existsSync(defaultAuditPath({ MODELSHIP_HOME: process.env.MODELSHIP_HOME }))) return undefined;
  const store = await openAuditReader({}, 'audit log');
  // One verified walk per model and command: a plan of many specs of one model reads it once.
  const cache = new Map<string, ReturnType<ReleaseRecords>>();
  return {
    records: (model) => {
      let read = cache.get(model);
      if (!read) {
        read = verifiedRecordsOf(store, model);
        cache.set(model, read);
      }
      return read;
    },
    close: () => store.close(),
  };
}
